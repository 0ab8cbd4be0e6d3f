"""The inference cases of bench/io.py (figures only, never pass/fail on time).

- 1,000 concurrent single-item runs (`trigger.webhook` async -> `inference.triton`,
  ticket_urgency), posted by 50 clients at once, executed by `make run`'s I/O worker
  (config.launch.IO_WORKER_OPTIONS) with cross-run batching (WEFT_INFERENCE_LINGER_MS=2)
  and without (0): drain time, runs/s and the requests Triton answered (its own
  statistics);
- the "order check" shape: webhook (respond) -> model -> if confidence < 0.9 ->
  respond, at concurrency 1, 8, 32 and 64: runs/s, p50 and p99 of the answer, and the
  CPU each kind of process spent per run (the demo Triton server's included); first
  with the model node on the io worker (WEFT_RESPOND_IN_PROCESS=0), then on the web
  process that waits for the answer (=1, the default), side by side.

Against the demo Triton server (PyTriton), started here on free ports, over gRPC.
"""

from __future__ import annotations

import asyncio
import os
import time

from bench.engine import _load
from bench.harness import CPUByProcess, celery_worker, flow, pct, publish, web_server

MODEL = "ticket_urgency"
CLIENTS = 50  # posting at once (each sends count / CLIENTS requests)


def _requests(triton) -> int:
    from apps.inference.client import TritonClient

    with TritonClient(triton.connection("http")) as client:
        stats = client._call(MODEL, "get_inference_statistics", MODEL)
    return sum(int(e["inference_stats"]["success"]["count"]) for e in stats["model_stats"])


def _workflows(server: str) -> tuple[str, str]:
    from apps.runs.triggers import workflow_runtime_get

    classify = ("classify", "inference.triton",
                {"server": server, "model": MODEL, "inputs": {"text": "input.text"}})
    many = publish("bench io inference", flow(
        ("hook", "trigger.webhook", {"mode": "async"}), classify, edges=[("hook", "classify")]))
    check = publish("bench io order check", flow(
        ("hook", "trigger.webhook", {"mode": "respond"}), classify,
        ("if", "control.if", {"condition": "input.confidence < 0.9"}),
        ("review", "flow.respond", {"status": 200, "body": "{'review': true}"}),
        ("pass", "flow.respond", {"status": 200, "body": "{'review': false}"}),
        edges=[("hook", "classify"), ("classify", "if"), ("if", "true", "review", "in"),
               ("if", "false", "pass", "in")]))
    return (workflow_runtime_get(workflow=many).webhook_secret,
            workflow_runtime_get(workflow=check).webhook_secret)


def _drain(port: int, secret: str, triton, count: int) -> dict:
    from apps.runs.models import Run

    Run.objects.filter(workflow__runtime__webhook_secret=secret).delete()
    before = _requests(triton)
    started = time.perf_counter()
    asyncio.run(_load(port, f"/hooks/{secret}/", b'{"text": "Production is down"}', CLIENTS,
                      count))
    deadline = time.monotonic() + 300
    done = Run.objects.filter(workflow__runtime__webhook_secret=secret,
                              status__in=["succeeded", "failed", "cancelled"])
    while done.count() < count and time.monotonic() < deadline:
        time.sleep(0.02)
    drain = time.perf_counter() - started
    ok = Run.objects.filter(workflow__runtime__webhook_secret=secret, status="succeeded").count()
    return {"drain": drain, "requests": _requests(triton) - before, "ok": ok}


def triton_register(triton, name: str) -> None:
    """Register the demo Triton server (over gRPC) under `name`."""
    from apps.inference.services import triton_server_register

    connection = triton.connection("grpc")
    for attempt in range(5):  # its first answers can be slow on a loaded machine
        try:
            triton_server_register(name=name, url=connection.address, protocol="grpc",
                                   secret_headers=connection.header_dict,
                                   model_names=connection.models)
            return
        except Exception:
            if attempt == 4:
                raise
            time.sleep(3)


def bench_inference(*, quick: bool) -> None:
    from apps.inference.launcher import TritonProcess
    from config.launch import IO_WORKER_OPTIONS

    count = 300 if quick else 1000
    with TritonProcess.start() as triton:
        triton_register(triton, "bench-io")
        many, check = _workflows("bench-io")
        os.environ["WEFT_RESPOND_IN_PROCESS"] = "0"  # the first server's: see _order_check
        server, port = web_server()
        try:
            print(f"\n== {count} concurrent single-item runs: webhook -> inference.triton "
                  f"({MODEL}, gRPC), {CLIENTS} clients, io worker {' '.join(IO_WORKER_OPTIONS)}")
            print(f"{'batching':>22} {'drain s':>8} {'runs/s':>8} {'Triton requests':>16} "
                  f"{'ok':>5}")
            for label, linger in (("on (linger 2 ms)", "2"), ("off", "0")):
                os.environ["WEFT_INFERENCE_LINGER_MS"] = linger
                with celery_worker(["io", "inference", "default", "maintenance"],
                                   options=IO_WORKER_OPTIONS,
                                   log_name="bench-io-inference-worker.log"):
                    _drain(port, many, triton, 100)  # warm up
                    got = _drain(port, many, triton, count)
                    print(f"{label:>22} {got['drain']:>8.2f} {count / got['drain']:>8.0f} "
                          f"{got['requests']:>16} {got['ok']:>5}")
                    if linger == "2":
                        _order_check(port, check, quick=quick,
                                     where="the model node on the io worker: "
                                           "WEFT_RESPOND_IN_PROCESS=0")
                        # The same web server's settings but for the one switch, the
                        # worker still running (it takes nothing then).
                        os.environ["WEFT_RESPOND_IN_PROCESS"] = "1"
                        here, here_port = web_server()
                        try:
                            _order_check(here_port, check, quick=quick,
                                         where="the model node on the web process that "
                                               "waits: WEFT_RESPOND_IN_PROCESS=1")
                        finally:
                            here.terminate()
                            here.wait(10)
        finally:
            os.environ.pop("WEFT_INFERENCE_LINGER_MS", None)
            os.environ.pop("WEFT_RESPOND_IN_PROCESS", None)
            server.terminate()
            server.wait(10)


def _order_check(port: int, secret: str, *, quick: bool, where: str) -> None:
    path, body = f"/hooks/{secret}/", b'{"text": "Production is down"}'
    asyncio.run(_load(port, path, body, 8, 200))  # warm up
    print("\n== webhook (respond) -> inference.triton -> if confidence < 0.9 -> respond "
          f"(uvicorn, 2 workers, batching on; {where})")
    print(f"{'concurrency':>11} {'requests':>8} {'runs/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'non-200':>7}")
    for concurrency in (1, 8, 32, 64):
        total = concurrency * (20 if quick else 50) if concurrency > 1 else (50 if quick else 200)
        cpu = CPUByProcess()
        elapsed, latencies, statuses = asyncio.run(_load(port, path, body, concurrency, total))
        spent = cpu.per_item(len(statuses))
        print(f"{concurrency:>11} {len(statuses):>8} {len(statuses) / elapsed:>8.0f} "
              f"{pct(latencies, 0.5) * 1000:>8.1f} {pct(latencies, 0.99) * 1000:>8.1f} "
              f"{sum(1 for s in statuses if s != 200):>7}")
        print(f"{'':>11} {spent}")
