"""CPU the demo Triton server spends per model call, by BLAS threads (figures only).

    .venv/bin/python -m bench.triton_cpu [--calls 1000]

Starts the demo server (`apps.inference.server`, as `make run` does) twice: with its
default of one BLAS thread per process, then with one per core (OPENBLAS_NUM_THREADS
= the machine's cores, numpy's own default), and for each sends --calls single-ticket
`ticket_urgency` calls over gRPC, one after another, measuring the CPU (user + system)
of the server's whole process tree and the wall time per call. No Django.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import psutil

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apps.inference.client import TritonClient
from apps.inference.launcher import TritonProcess

TEXT = "Production is down for all users, we are losing orders"


def _tree_cpu(pid: int) -> float:
    root = psutil.Process(pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def measure(calls: int, blas_threads: str | None) -> tuple[float, float, int]:
    """(server CPU ms per call, wall ms per call, server threads)."""
    saved = os.environ.pop("OPENBLAS_NUM_THREADS", None)
    if blas_threads is not None:
        os.environ["OPENBLAS_NUM_THREADS"] = blas_threads
    try:
        with TritonProcess.start() as triton, TritonClient(triton.connection("grpc")) as client:
            for _ in range(50):  # warm up
                client.infer("ticket_urgency", {"text": TEXT})
            before, started = _tree_cpu(triton.process.pid), time.perf_counter()
            for _ in range(calls):
                client.infer("ticket_urgency", {"text": TEXT})
            wall = time.perf_counter() - started
            cpu = _tree_cpu(triton.process.pid) - before
            root = psutil.Process(triton.process.pid)
            threads = sum(p.num_threads() for p in [root, *root.children(recursive=True)])
    finally:
        os.environ.pop("OPENBLAS_NUM_THREADS", None)
        if saved is not None:
            os.environ["OPENBLAS_NUM_THREADS"] = saved
    return cpu * 1000 / calls, wall * 1000 / calls, threads


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args(argv)
    cores = str(os.cpu_count() or 1)
    one = measure(args.calls, None)
    per_core = measure(args.calls, cores)
    print(f"demo Triton, {args.calls} single-ticket gRPC calls one after another, {cores} cores")
    print(f"{'BLAS threads':>22} {'CPU ms/call':>12} {'wall ms/call':>13} {'threads':>8}")
    for label, (cpu, wall, threads) in (("1 (default)", one), (f"{cores} (one per core)", per_core)):
        print(f"{label:>22} {cpu:>12.2f} {wall:>13.2f} {threads:>8}")
    print(f"CPU per call, one per core against one: x{per_core[0] / one[0]:.2f}")


if __name__ == "__main__":
    main()
