"""Prepared statements on and off, side by side (figures only, never pass/fail on time).

    .venv/bin/python bench/prepared.py [--quick] [--rounds 2]

The same load against web servers started with WEFT_DB_PREPARE=0 (every statement
parsed and planned on every run) and =1 (the default: bound on the server, each
connection keeping the plan of a statement it has run twice), alternately, `rounds`
times each, so that the noise of a shared machine falls on both:

- the engine's synchronous webhook (webhook -> set -> if -> respond, one statement per
  run) at concurrency 32;
- the order check (webhook (respond) -> model -> if confidence < 0.9 -> respond, the
  model call made by the web process that waits) at concurrency 32, against the demo
  Triton server over gRPC.

For each: runs/s, p50, p99 and the CPU each kind of process spent per run, then the
means of the rounds and the ratios on / off. Uses the embedded PostgreSQL and Redis
(`make services`) in a database of its own (dropped at the end).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (  # noqa: E402
    CPUByProcess,
    django_setup,
    drop_database,
    pct,
    publish,
    web_server,
)

QUICK = "--quick" in sys.argv
ROUNDS = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 2
CONCURRENCY = 32


def _measure(port: int, path: str, body: bytes, total: int) -> dict[str, float]:
    from bench.engine import _load

    asyncio.run(_load(port, path, body, 8, 200))  # warm up both workers' connections
    cpu = CPUByProcess()
    elapsed, latencies, statuses = asyncio.run(_load(port, path, body, CONCURRENCY, total))
    spent = cpu.spent()
    done = len(statuses)
    return {"runs/s": done / elapsed, "p50 ms": pct(latencies, 0.5) * 1000,
            "p99 ms": pct(latencies, 0.99) * 1000,
            "non-200": float(sum(1 for s in statuses if s != 200)),
            **{f"{kind} ms": spent[kind] / done * 1000 for kind in ("web", "postgres", "triton")},
            "all ms": sum(spent.values()) / done * 1000}


def _side_by_side(title: str, path: str, body: bytes, total: int) -> None:
    figures: dict[str, list[dict[str, float]]] = {"0": [], "1": []}
    print(f"\n== {title}, concurrency {CONCURRENCY}, {total} requests a round")
    columns = ("runs/s", "p50 ms", "p99 ms", "web ms", "postgres ms", "triton ms", "all ms",
               "non-200")
    print(f"{'WEFT_DB_PREPARE':>15} " + " ".join(f"{c:>11}" for c in columns))
    for _round in range(ROUNDS):
        for setting in ("0", "1"):
            os.environ["WEFT_DB_PREPARE"] = setting
            server, port = web_server()
            try:
                got = _measure(port, path, body, total)
            finally:
                server.terminate()
                server.wait(10)
            figures[setting].append(got)
            print(f"{setting:>15} " + " ".join(f"{got[c]:>11.1f}" for c in columns))
    os.environ.pop("WEFT_DB_PREPARE", None)
    means = {s: {c: statistics.mean(f[c] for f in figures[s]) for c in columns} for s in figures}
    for setting in ("0", "1"):
        print(f"{'mean ' + setting:>15} " + " ".join(f"{means[setting][c]:>11.1f}"
                                                      for c in columns))
    print(f"{'on / off':>15} " + " ".join(
        f"{means['1'][c] / means['0'][c]:>11.2f}" if means["0"][c] else f"{'':>11}"
        for c in columns))


def main() -> None:
    django_setup(database="weft_bench_prepared")
    from apps.inference.launcher import TritonProcess
    from apps.runs.triggers import workflow_runtime_get
    from bench.engine import _webhook_graph
    from bench.io_inference import _workflows, triton_register

    total = CONCURRENCY * (30 if QUICK else 60)
    try:
        webhook = publish("bench prepared webhook", _webhook_graph(False))
        secret = workflow_runtime_get(workflow=webhook).webhook_secret
        _side_by_side("webhook -> set -> if -> respond", f"/hooks/{secret}/",
                      b'{"order": 42, "items": [1, 2, 3]}', total * 4)
        with TritonProcess.start() as triton:
            triton_register(triton, "bench-io")
            _many, check = _workflows("bench-io")
            os.environ["WEFT_RESPOND_IN_PROCESS"] = "1"
            _side_by_side("webhook (respond) -> model -> if -> respond, the call in the web "
                          "process", f"/hooks/{check}/", b'{"text": "Production is down"}',
                          total)
    finally:
        os.environ.pop("WEFT_RESPOND_IN_PROCESS", None)
        drop_database()


if __name__ == "__main__":
    main()
