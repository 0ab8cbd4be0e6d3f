"""The order check alone, for before/after comparisons and profiles (figures only).

    .venv/bin/python bench/order_check.py [--rounds 2] [--concurrency 32] [--profile DIR]

webhook (respond) -> model (ticket_urgency, the demo Triton over gRPC) ->
if confidence < 0.9 -> respond, the model call made by the web process that waits
(WEFT_RESPOND_IN_PROCESS=1), uvicorn with 2 workers. Per round: runs/s, p50, p99, the
CPU each kind of process spent per run and the Triton requests per run (cross-run
batching groups concurrent calls). Run it in two checkouts alternately to compare
commits on a noisy machine. `--profile DIR`: py-spy (on PATH or PY_SPY) records the web
processes during the first round, CPU only (`--gil`), as raw stacks in DIR.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import CPUByProcess, django_setup, drop_database, pct, web_server  # noqa: E402


def _option(name: str, default: str | None) -> str | None:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


ROUNDS = int(_option("--rounds", "2"))
CONCURRENCY = int(_option("--concurrency", "32"))
PROFILE = _option("--profile", None)


def _web_children(server: subprocess.Popen) -> list[str]:
    pids = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True,
                          text=True).stdout.split()
    return [pid for pid in pids
            if "resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_text()]


def _profilers(server: subprocess.Popen, seconds: int) -> list[subprocess.Popen]:
    spy = os.environ.get("PY_SPY") or shutil.which("py-spy")
    if not spy:
        raise SystemExit("--profile needs py-spy on PATH (or PY_SPY=/path/to/py-spy)")
    Path(PROFILE).mkdir(parents=True, exist_ok=True)
    return [subprocess.Popen([spy, "record", "-p", pid, "-d", str(seconds), "-r", "200",
                              "-f", "raw", "--gil", "--nonblocking",
                              "-o", str(Path(PROFILE) / f"web-{pid}.txt")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for pid in _web_children(server)]


def main() -> None:
    django_setup(database="weft_bench_order_check")
    from apps.inference.launcher import TritonProcess
    from bench.engine import _load
    from bench.io_inference import _requests, _workflows, triton_register

    total = CONCURRENCY * 60
    try:
        with TritonProcess.start() as triton:
            triton_register(triton, "bench-io")
            _many, check = _workflows("bench-io")
            os.environ["WEFT_RESPOND_IN_PROCESS"] = "1"
            server, port = web_server()
            try:
                path, body = f"/hooks/{check}/", b'{"text": "Production is down"}'
                asyncio.run(_load(port, path, body, 8, 300))  # warm up both workers
                print(f"== order check, concurrency {CONCURRENCY}, {total} requests a round")
                for round_ in range(ROUNDS):
                    spies = _profilers(server, 20) if PROFILE and round_ == 0 else []
                    time.sleep(1 if spies else 0)
                    requests, cpu = _requests(triton), CPUByProcess()
                    elapsed, latencies, statuses = asyncio.run(
                        _load(port, path, body, CONCURRENCY, total))
                    done = len(statuses)
                    spent = cpu.per_item(done)
                    per_run = (_requests(triton) - requests) / done
                    print(f"runs/s {done / elapsed:.0f}  p50 {pct(latencies, 0.5) * 1000:.1f} ms"
                          f"  p99 {pct(latencies, 0.99) * 1000:.1f} ms  non-200 "
                          f"{sum(1 for s in statuses if s != 200)}  Triton requests per run "
                          f"{per_run:.2f}\n  {spent}", flush=True)
                    for spy in spies:
                        spy.wait()
            finally:
                server.terminate()
                server.wait(10)
    finally:
        os.environ.pop("WEFT_RESPOND_IN_PROCESS", None)
        drop_database()


if __name__ == "__main__":
    main()
