"""Engine benchmarks: prints figures, never fails on time.

    .venv/bin/python bench/engine.py [--quick] [--signed] [webhook] [signing] [overhead] [map]
                                     [--sizes 10000,100000]

1. Synchronous webhook runs (webhook -> set -> if -> respond) against a real uvicorn
   server (2 workers) over loopback, at concurrency 1, 8 and 32: runs/s, p50, p99.
   Every request is a full run: Run + 4 NodeRun rows written, respond body returned.
   With --signed the trigger checks a `Weft-Signature` header and every request is a
   distinct signed body (signed before timing), so each one also claims its signature.
   `signing`: the same webhook unsigned and signed, called in-process in turn.
2. Engine overhead per node: a chain of 41 pure nodes vs 1, minus the node code
   called directly.
3. A map over 100,000 items (and 10,000 for comparison) through a pure child
   workflow on a real Celery worker (2 children): time and peak worker memory.

Uses the embedded PostgreSQL/Redis (`make services`), in a database of its own
(weft_bench_engine, dropped at the end) and Redis database 12 for Celery, the catalogue's `data.set` and
`control.if` for the webhook, and the test node type `test.items` to make a map's list.
Name sections to run only those (all by default).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    celery_worker,
    django_setup,
    drop_database,
    flow,
    pct,
    publish,
    web_server,
)

QUICK = "--quick" in sys.argv
SIGNED = "--signed" in sys.argv


# --- 1. webhook ---------------------------------------------------------------------

def _requests(path, body, count, signing_key=None):
    """`count` raw HTTP requests: the same one, or (with a signing key) distinct bodies,
    each with its own timestamped signature."""
    import hashlib
    import hmac

    def raw(payload, extra=""):
        return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
                f"\r\n{extra}Content-Length: {len(payload)}\r\n\r\n").encode() + payload

    if signing_key is None:
        return [raw(body)] * count
    out, t = [], int(time.time())
    for i in range(count):
        payload = body[:-1] + f', "i": {i}, "r": {time.perf_counter_ns()}}}'.encode()
        digest = hmac.new(signing_key.encode(), f"{t}.".encode() + payload,
                          hashlib.sha256).hexdigest()
        out.append(raw(payload, f"Weft-Signature: t={t},v1={digest}\r\n"))
    return out


async def _client(port, requests, latencies):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    statuses = []
    for request in requests:
        started = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - started)
        statuses.append(int(head.split(b" ")[1]))
    writer.close()
    return statuses


async def _load(port, path, body, concurrency, total, signing_key=None):
    latencies: list[float] = []
    per = total // concurrency
    batches = [_requests(path, body, per, signing_key) for _ in range(concurrency)]
    started = time.perf_counter()
    results = await asyncio.gather(*[_client(port, batch, latencies) for batch in batches])
    elapsed = time.perf_counter() - started
    statuses = [s for r in results for s in r]
    return elapsed, latencies, statuses


def bench_webhook():
    from apps.runs.models import Run
    from apps.runs.triggers import workflow_runtime_get

    workflow = publish("bench webhook", _webhook_graph(SIGNED))
    runtime = workflow_runtime_get(workflow=workflow)
    secret = runtime.webhook_secret
    signing_key = runtime.signing_key if SIGNED else None
    server, port = web_server()
    try:
        path = f"/hooks/{secret}/"
        body = b'{"order": 42, "items": [1, 2, 3]}'
        asyncio.run(_load(port, path, body, 8, 400, signing_key))  # warm up both workers
        print("\n== Synchronous webhook: webhook -> set -> if -> respond (uvicorn, 2 workers)"
              + (", signed" if SIGNED else ""))
        print(f"{'concurrency':>11} {'requests':>8} {'runs/s':>8} {'p50 ms':>8} {'p99 ms':>8}"
              f" {'non-200':>7}")
        for concurrency, total in ((1, 300 if QUICK else 1000), (8, 800 if QUICK else 4000),
                                   (32, 1600 if QUICK else 8000)):
            elapsed, latencies, statuses = asyncio.run(_load(port, path, body, concurrency,
                                                             total, signing_key))
            bad = sum(1 for s in statuses if s != 200)
            print(f"{concurrency:>11} {len(statuses):>8} {len(statuses) / elapsed:>8.0f} "
                  f"{pct(latencies, 0.5) * 1000:>8.2f} {pct(latencies, 0.99) * 1000:>8.2f} "
                  f"{bad:>7}")
        runs = Run.objects.filter(workflow=workflow)
        print(f"runs stored: {runs.count()}, succeeded: {runs.filter(status='succeeded').count()}")
    finally:
        server.terminate()
        server.wait(10)


def _webhook_graph(signed: bool) -> dict:
    hook = {"mode": "respond", **({"signature_header": "Weft-Signature"} if signed else {})}
    return flow(("hook", "trigger.webhook", hook),
                ("set", "data.set", {"keep_input": True,
                                     "fields": [{"name": "seen", "value": "true"}]}),
                ("if", "control.if", {"condition": "input.seen && input.order > 0"}),
                ("respond", "flow.respond", {"status": 200}),
                edges=[("hook", "set"), ("set", "if"), ("if", "true", "respond", "in")])


def bench_signing(calls: int = 300 if QUICK else 1000):
    """The cost of a signature in-process: `triggers.webhook_handle` for the same
    workflow unsigned and signed (verify, claim the receipt in the run's statement),
    call after call in turn, so that machine noise falls on both."""
    import hashlib
    import hmac
    import json

    from apps.runs.triggers import webhook_handle, workflow_runtime_get

    runtimes = {signed: workflow_runtime_get(workflow=publish(f"bench signing {signed}",
                                                              _webhook_graph(signed)))
                for signed in (False, True)}
    times: dict[bool, list[float]] = {False: [], True: []}
    for i in range(calls + 20):
        for signed, runtime in runtimes.items():
            body = json.dumps({"order": 42, "i": i, "r": time.perf_counter_ns()}).encode()
            headers = {}
            if signed:
                t = int(time.time())
                digest = hmac.new(runtime.signing_key.encode(), f"{t}.".encode() + body,
                                  hashlib.sha256).hexdigest()
                headers = {"weft-signature": f"t={t},v1={digest}"}
            started = time.perf_counter()
            status, _, _ = webhook_handle(secret=runtime.webhook_secret, body=body,
                                          headers=headers)
            if i >= 20:  # the first calls fill the caches
                times[signed].append(time.perf_counter() - started)
            assert status == 200, status
    print(f"\n== Webhook signing, in-process, {calls} calls each in turn (webhook_handle)")
    for signed, values in times.items():
        print(f"{'signed' if signed else 'unsigned':>9}: p50 {pct(values, 0.5) * 1000:.2f} ms"
              f"  p99 {pct(values, 0.99) * 1000:.2f} ms")


# --- 2. overhead per node -------------------------------------------------------------

def overhead_per_node(runs: int = 200) -> dict[str, float]:
    """Chains of 1 and 41 inline `core.noop` nodes started with run_start, in turn;
    returns the medians (ms) and the engine's overhead per node, less the node's code."""
    from apps.nodes.base import NodeContext
    from apps.nodes.types.core import NoOp, NoOpConfig
    from apps.runs import services

    def chain(n):
        nodes = [("start", "trigger.manual")] + [(f"n{i}", "core.noop") for i in range(n)]
        edges = [("start", "n0")] + [(f"n{i}", f"n{i + 1}") for i in range(n - 1)]
        return publish(f"bench chain {n}", flow(*nodes, edges=edges))

    short, long = chain(1), chain(41)
    samples = {1: [], 41: []}
    for _ in range(3):
        services.run_start(workflow=short)
        services.run_start(workflow=long)
    for _ in range(runs):
        for size, workflow in ((1, short), (41, long)):
            started = time.perf_counter()
            services.run_start(workflow=workflow, input={"x": 1})
            samples[size].append(time.perf_counter() - started)
    node, config = NoOp(), NoOpConfig()
    context = NodeContext(run_id="r", node_id="n", attempt=1, inputs={"in": {"x": 1}})
    started = time.perf_counter()
    for _ in range(100000):
        node.execute(context, config)
    direct = (time.perf_counter() - started) / 100000
    p50_1, p50_41 = statistics.median(samples[1]), statistics.median(samples[41])
    per_node = (p50_41 - p50_1) / 40
    return {"run_1_ms": p50_1 * 1000, "run_41_ms": p50_41 * 1000, "direct_us": direct * 1e6,
            "per_node_ms": (per_node - direct) * 1000}


def bench_overhead():
    figures = overhead_per_node(60 if QUICK else 200)
    print("\n== Engine overhead per node (inline pure nodes, rows written in bulk)")
    print(f"run of 1 node p50 {figures['run_1_ms']:.2f} ms; "
          f"run of 41 nodes p50 {figures['run_41_ms']:.2f} ms")
    print(f"node code called directly: {figures['direct_us']:.2f} us")
    print(f"engine overhead per node p50: {figures['per_node_ms']:.3f} ms")


# --- 3. map over 100,000 items --------------------------------------------------------

def bench_map():
    import psutil

    from apps.runs import services
    from apps.runs.models import MapItem, NodeRun, Run

    child = publish("bench item", flow(("start", "trigger.manual"),
                                       ("set", "test.set", {"values": {"done": True}}),
                                       edges=[("start", "set")]))
    parent = publish("bench map", flow(
        ("start", "trigger.manual"), ("items", "test.items"),
        ("map", "flow.map", {"workflow_id": str(child.pk), "chunk_size": 500,
                             "concurrency": 2}),
        edges=[("start", "items"), ("items", "map")]))
    with celery_worker(["default", "io", "inference", "maintenance"]) as worker:
        print("\n== Map over a list through a pure child workflow (worker: 2 children, "
              "chunks of 500, 2 at once)")
        sizes = (10000, 100000) if not QUICK else (2000, 20000)
        if "--sizes" in sys.argv:
            sizes = tuple(int(n) for n in sys.argv[sys.argv.index("--sizes") + 1].split(","))
        for count in sizes:
            def rss():
                try:
                    proc = psutil.Process(worker.pid)
                    return {p.pid: p.memory_info().rss for p in [proc, *proc.children()]}
                except psutil.Error:
                    return {}

            base = rss()
            started = time.perf_counter()
            run = services.run_start(workflow=parent, input={"count": count})
            peak_during_chunks = dict(base)
            peak = dict(base)
            while True:
                status = Run.objects.filter(pk=run.pk).values_list("status", flat=True)[0]
                sample = rss()
                for pid, value in sample.items():
                    peak[pid] = max(peak.get(pid, 0), value)
                map_row = NodeRun.objects.filter(run=run, node_id="map").only(
                    "status").first()
                if map_row and map_row.status == "waiting" and MapItem.objects.filter(
                        node_run=map_row, done=False).exists():
                    for pid, value in sample.items():
                        peak_during_chunks[pid] = max(peak_during_chunks.get(pid, 0), value)
                if status in ("succeeded", "failed", "cancelled"):
                    break
                time.sleep(0.2)
            elapsed = time.perf_counter() - started
            out = NodeRun.objects.filter(run=run, node_id="map").values_list(
                "status", flat=True)[0]
            children = Run.objects.filter(parent_run=run).count()
            mb = 1024 * 1024
            print(f"{count:>7} items: {status} (map {out}) in {elapsed:.1f} s "
                  f"({count / elapsed:.0f} items/s), child runs stored {children}")
            print("         worker RSS per process before/peak while chunks ran/peak overall "
                  "(MB): " + "; ".join(
                      f"{base.get(p, 0) / mb:.0f}/{peak_during_chunks.get(p, 0) / mb:.0f}/"
                      f"{peak[p] / mb:.0f}" for p in sorted(peak)))


if __name__ == "__main__":
    # Its own database (dropped at the end) and Redis database for Celery: never the
    # development database `make run` uses, nor another worker of this checkout.
    django_setup(database="weft_bench_engine", broker_db=12, test_nodes=True)
    from django.conf import settings

    print(f"machine: {os.cpu_count()} cores; database {settings.DATABASES['default']['NAME']}")
    chosen = [name for name in ("webhook", "signing", "overhead", "map") if name in sys.argv]
    try:
        for name in chosen or ("webhook", "signing", "overhead", "map"):
            {"webhook": bench_webhook, "signing": bench_signing, "overhead": bench_overhead,
             "map": bench_map}[name]()
    finally:
        drop_database()
