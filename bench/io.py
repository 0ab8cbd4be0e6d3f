"""Nodes that wait on the network: figures side by side (never pass/fail on time).

    .venv/bin/python bench/io.py [--quick] [--before] [--no-inference | --inference-only]

N webhook runs (`trigger.webhook` -> `http.request`), each calling a local API that
answers after D seconds (N=300, D=0.2 and N=100, D=1.0), posted to a real uvicorn
server (2 workers) by 20 clients at once, executed by a real worker process:

- `io worker`: `make run`'s I/O worker (config.launch.IO_WORKER_OPTIONS: one process,
  a few delivery threads, the event loop of apps.runs.io_executor), with the per-host
  cap raised to 300 for this bench (all calls go to one API; the default is 32);
- `before` (with --before): the engine as it was, every call holding a prefork child
  for its whole duration (WEFT_IO_EXECUTOR=0, 2 children: `make run`'s default).

For each: drain time (first request sent until the last run succeeded in the
database), calls/s, peak calls in flight at the API, and, sampled while draining, the
worker's peak threads, memory (RSS, children included) and PostgreSQL connections
(`pg_stat_activity`, application_name weft-worker), against the ideal: D plus the
time the same N runs take against an API that answers at once (the engine's cost);
then the CPU each kind of process spent per run (bench.harness.CPUByProcess).

Then the inference cases (bench/io_inference.py, skipped with --no-inference): 1,000
concurrent single-item model runs with and without cross-run batching, and webhook ->
model -> if -> respond at concurrency 1, 8, 32 and 64.

Uses its own database (weft_bench_io, dropped at the end) and Redis database 13 for
Celery, on the embedded services (`make services`).
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ["WEFT_HTTP_ALLOW_HOSTS"] = "127.0.0.1/32"  # the local API (the worker too)
os.environ["WEFT_IO_PER_HOST"] = "300"

from bench.engine import _load  # noqa: E402
from bench.harness import (  # noqa: E402
    CPUByProcess,
    celery_worker,
    django_setup,
    drop_database,
    flow,
    publish,
    web_server,
)

QUICK = "--quick" in sys.argv
BEFORE = "--before" in sys.argv
CASES = ((300, 0.2), (100, 1.0))


class Sampler(threading.Thread):
    """Peak threads, RSS (with children) and database connections of a worker."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        import psutil

        self.process = psutil.Process(pid)
        self.stop = threading.Event()
        self.threads = self.rss = self.connections = 0

    def run(self) -> None:
        import psycopg

        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
            while not self.stop.wait(0.05):
                procs = [self.process, *self.process.children()]
                self.threads = max(self.threads, sum(p.num_threads() for p in procs))
                self.rss = max(self.rss, sum(p.memory_info().rss for p in procs))
                count = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND application_name = 'weft-worker'").fetchone()[0]
                self.connections = max(self.connections, count)


def _drain(port: int, secret: str, workflow, receiver, count: int, worker_pid: int) -> dict:
    from apps.runs.models import Run

    receiver.reset()
    Run.objects.filter(workflow=workflow).delete()
    sampler = Sampler(worker_pid)
    sampler.start()
    cpu = CPUByProcess()
    started = time.perf_counter()
    body = b'{"order": 42}'
    _, _, statuses = asyncio.run(_load(port, f"/hooks/{secret}/", body, 20, count))
    deadline = time.monotonic() + 300
    while Run.objects.filter(workflow=workflow, status__in=[
            "succeeded", "failed", "cancelled"]).count() < count:
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)
    drain = time.perf_counter() - started
    sampler.stop.set()
    sampler.join()
    return {"drain": drain, "cpu": cpu.per_item(count), "peak": receiver.peak, "threads": sampler.threads,
            "rss": sampler.rss / 2**20, "connections": sampler.connections,
            "accepted": sum(1 for s in statuses if s == 202),
            "succeeded": Run.objects.filter(workflow=workflow, status="succeeded").count()}


def bench_http(label: str, worker_options: list[str], env: dict[str, str]) -> None:
    from apps.runs.triggers import workflow_runtime_get
    from tests.fixtures.slow_http import SlowReceiver

    receiver = SlowReceiver(delay_s=0)
    workflow = publish(f"bench io {label}", flow(
        ("hook", "trigger.webhook", {"mode": "async"}),
        ("call", "http.request", {"url": receiver.url, "method": "POST",
                                  "body": {"order": "{{ input.order }}"}}),
        edges=[("hook", "call")]))
    secret = workflow_runtime_get(workflow=workflow).webhook_secret
    server, port = web_server()
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with celery_worker(["io", "inference", "default", "maintenance"],
                           options=worker_options, log_name="bench-io-worker.log") as worker:
            for key, value in saved.items():  # this process keeps its own settings
                if value is None:
                    os.environ.pop(key)
                else:
                    os.environ[key] = value
            _drain(port, secret, workflow, receiver, 40, worker.pid)  # warm up
            print(f"\n== {label}: webhook -> http.request to an API answering after D s")
            print(f"{'N':>4} {'D s':>4} {'drain s':>8} {'ideal s':>8} {'calls/s':>8} "
                  f"{'peak':>5} {'threads':>7} {'RSS MiB':>8} {'db conns':>8} {'ok':>4}")
            for count, delay in CASES[:1] if QUICK else CASES:
                receiver.delay_s = 0
                cost = _drain(port, secret, workflow, receiver, count, worker.pid)["drain"]
                receiver.delay_s = delay
                got = _drain(port, secret, workflow, receiver, count, worker.pid)
                print(f"{count:>4} {delay:>4.1f} {got['drain']:>8.2f} {delay + cost:>8.2f} "
                      f"{count / got['drain']:>8.0f} {got['peak']:>5} {got['threads']:>7} "
                      f"{got['rss']:>8.0f} {got['connections']:>8} {got['succeeded']:>4}")
                print(f"{'':>9} {got['cpu']}")
    finally:
        server.terminate()
        server.wait(10)
        receiver.close()


def main() -> None:
    django_setup(database="weft_bench_io", broker_db=13)
    from config.launch import IO_WORKER_OPTIONS

    try:
        if "--inference-only" not in sys.argv:
            bench_http("io worker " + " ".join(IO_WORKER_OPTIONS), IO_WORKER_OPTIONS, {})
        if BEFORE and "--inference-only" not in sys.argv:
            bench_http("before: prefork, 2 children, each call holds one",
                       ["--concurrency", "2"], {"WEFT_IO_EXECUTOR": "0"})
        if "--no-inference" not in sys.argv:
            from bench.io_inference import bench_inference

            bench_inference(quick=QUICK)
    finally:
        drop_database()


if __name__ == "__main__":
    main()
