"""Inference overheads, printed side by side (figures only, never pass/fail).

    .venv/bin/python -m bench.inference [--calls 300] [--items 1000] [--runs 200]

Starts the demo Triton server on free ports (or uses --http/--grpc addresses
of a running one with --token), then for HTTP and gRPC measures:
1. one item: a raw tritonclient call vs our client vs the node's execute()
   (with CEL evaluation and the shared client), and the overhead ratio;
2. N items: one batched call (split by the model's max batch size, sent in
   parallel) vs N calls one by one, and the speed-up;
3. through a real run (--runs, 0 to skip): a published workflow
   `trigger.manual -> inference.triton(ticket_urgency)` started with `run_start`,
   its node executed by a real Celery worker process on the `inference` queue, timed
   from run start until the run is `succeeded` in the database, against a raw call
   timed in turn; with the engine's per-node overhead (bench/engine.py) for context.
   Uses its own database (weft_bench_inference, dropped at the end unless --keep)
   and its own Redis database for Celery, on the embedded services (`make services`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient

if __package__ in (None, ""):  # run as a script (bench/run_all.py): make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apps.expressions.services import expression_evaluate
from apps.inference.client import Connection, TritonClient, close_shared_clients
from apps.inference.launcher import TritonProcess
from apps.inference.nodes import TritonInference, TritonInferenceConfig
from apps.nodes.base import NodeContext
from models import datasets

MODEL = "ticket_urgency"


@dataclass(frozen=True)
class Timing:
    samples_ms: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p99(self) -> float:
        return float(np.percentile(self.samples_ms, 99))


def timed(fns: dict[str, Callable[[], Any]], calls: int, warmup: int = 20) -> dict[str, Timing]:
    """Time the functions in turn, call after call, so that the machine's noise
    falls on all of them alike."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(calls):
        for name, fn in fns.items():
            started = time.perf_counter()
            fn()
            samples[name].append((time.perf_counter() - started) * 1000)
    return {name: Timing(values) for name, values in samples.items()}


def raw_call(connection: Connection, text: str) -> Callable[[], Any]:
    """What a hand-written tritonclient call does, with a client made once."""
    grpc = connection.protocol == "grpc"
    module = grpcclient if grpc else httpclient
    raw = module.InferenceServerClient(connection.address)
    headers = connection.header_dict

    def call() -> Any:
        infer_input = module.InferInput("text", [1, 1], "BYTES")
        infer_input.set_data_from_numpy(np.array([[text.encode()]], dtype=object))
        result = raw.infer(MODEL, [infer_input], headers=headers)
        return result.as_numpy("probabilities"), result.as_numpy("label")

    return call


def node_call(connection: Connection, text: str) -> Callable[[], Any]:
    node = TritonInference()
    config = TritonInferenceConfig(server="bench", model=MODEL, inputs={"text": "input.text"})
    context = NodeContext(
        run_id="bench",
        node_id="classify",
        attempt=1,
        inputs={"in": {"text": text}},
        services={"triton": {"bench": connection}, "expressions": expression_evaluate},
    )
    return lambda: node.execute(context, config)


def single_item(connection: Connection, calls: int) -> None:
    text = "Production is down for all users, we are losing orders"
    client = TritonClient(connection)
    timings = timed(
        {
            "raw": raw_call(connection, text),
            "client": lambda: client.infer(MODEL, {"text": text}),
            "node": node_call(connection, text),
        },
        calls,
    )
    raw, ours, node = timings["raw"], timings["client"], timings["node"]
    print(f"  one item, {calls} calls (p50 / p99 ms):")
    print(f"    raw tritonclient      {raw.p50:7.2f} / {raw.p99:7.2f}")
    print(
        f"    TritonClient.infer    {ours.p50:7.2f} / {ours.p99:7.2f}   x{ours.p50 / raw.p50:.2f} of raw"
    )
    print(
        f"    node execute()        {node.p50:7.2f} / {node.p99:7.2f}   x{node.p50 / raw.p50:.2f} of raw"
    )
    client.close()


def many_items(connection: Connection, items: int) -> None:
    texts = datasets.tickets(items, seed=2024).texts
    with TritonClient(connection, max_parallel=4) as client:
        client.infer(
            MODEL, {"text": texts[:256]}
        )  # warm up: the spec cache and a connection per thread
        started = time.perf_counter()
        batched = client.infer(MODEL, {"text": texts})
        batched_s = time.perf_counter() - started
        started = time.perf_counter()
        singles = [client.infer(MODEL, {"text": t}).predictions[0] for t in texts]
        single_s = time.perf_counter() - started
    same = [p.label for p in batched.predictions] == [p.label for p in singles]
    print(f"  {items} items:")
    print(
        f"    batched ({batched.requests} requests of <=64, 4 in parallel) "
        f"{batched_s * 1000:8.1f} ms  {items / batched_s:9.0f} items/s"
    )
    print(
        f"    one by one                                 {single_s * 1000:8.1f} ms  {items / single_s:9.0f} items/s"
    )
    print(f"    speed-up x{single_s / batched_s:.1f}; same labels: {same}")


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        load = os.getloadavg()
        return f"load average: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}"


def _ms(delta) -> float:
    return delta.total_seconds() * 1000


def through_runs(connections: dict[str, Connection], runs: int, *, keep: bool) -> None:
    """Section 3: the node inside real runs, executed by a real Celery worker."""
    from bench import harness

    harness.django_setup(database="weft_bench_inference", broker_db=5)
    try:
        _through_runs(harness, connections, runs)
    finally:
        close_shared_clients()
        if not keep:
            harness.drop_database()


def _through_runs(harness: Any, connections: dict[str, Connection], runs: int) -> None:
    from apps.inference.services import triton_server_register
    from apps.runs.models import NodeRun, Run
    from apps.runs.services import run_start
    from bench.engine import overhead_per_node

    text = "Production is down for all users, we are losing orders"
    workflows, raws = {}, {}
    for protocol, connection in connections.items():
        name = f"bench-{protocol}"
        triton_server_register(name=name, url=connection.address, protocol=protocol,
                               secret_headers=connection.header_dict,
                               model_names=connection.models)
        workflows[protocol] = harness.publish(f"bench inference {protocol}", harness.flow(
            ("start", "trigger.manual"),
            ("classify", "inference.triton",
             {"server": name, "model": MODEL, "inputs": {"text": "input.text"}}),
            edges=[("start", "classify")]))
        raws[protocol] = raw_call(connection, text)

    def one_run(workflow) -> tuple[float, str]:
        started = time.perf_counter()
        run = run_start(workflow=workflow, input={"text": text})
        while True:
            status = Run.objects.filter(pk=run.pk).values_list("status", flat=True)[0]
            if status not in ("queued", "running", "waiting"):
                break
            time.sleep(0.001)
        elapsed = (time.perf_counter() - started) * 1000
        if status != "succeeded":
            raise RuntimeError(f"run {run.pk} ended {status}")
        return elapsed, str(run.pk)

    with harness.celery_worker(["inference"], concurrency=1,
                               log_name="bench-inference-worker.log"):
        for _ in range(10):  # warm up: the worker's imports, clients and caches
            for protocol in connections:
                raws[protocol]()
                one_run(workflows[protocol])
        walls: dict[str, list[float]] = {p: [] for p in connections}
        raw_ms: dict[str, list[float]] = {p: [] for p in connections}
        run_ids: dict[str, list[str]] = {p: [] for p in connections}
        load_before = _uptime()
        for _ in range(runs):  # in turn, so that the machine's noise falls on all alike
            for protocol in connections:
                started = time.perf_counter()
                raws[protocol]()
                raw_ms[protocol].append((time.perf_counter() - started) * 1000)
                elapsed, run_id = one_run(workflows[protocol])
                walls[protocol].append(elapsed)
                run_ids[protocol].append(run_id)
        load_after = _uptime()
    overhead = overhead_per_node(runs)

    print(f"\nTHROUGH A RUN: trigger.manual -> inference.triton({MODEL}), {runs} runs per "
          "protocol, sequential; run_start -> status 'succeeded' in the database (polled every "
          "1 ms); node on a real Celery worker (prefork, 1 child, queue 'inference')")
    print(f"  load before: {load_before}")
    print(f"  load after:  {load_after}")
    per_node = overhead["per_node_ms"]
    for protocol in connections:
        raw, wall = Timing(raw_ms[protocol]), Timing(walls[protocol])
        rows = {r.pk: r for r in Run.objects.filter(pk__in=run_ids[protocol])}
        nodes = {n.run_id: n for n in NodeRun.objects.filter(
            run_id__in=run_ids[protocol], node_id="classify")}
        recorded, dispatch, execute, settle = [], [], [], []
        for run_id in run_ids[protocol]:
            run, node = rows[uuid.UUID(run_id)], nodes[uuid.UUID(run_id)]
            recorded.append(_ms(run.finished_at - run.created_at))
            dispatch.append(_ms(node.started_at - (node.queued_at or node.created_at)))
            execute.append(_ms(node.finished_at - node.started_at))
            settle.append(_ms(run.finished_at - node.finished_at))
        target = 1.2 * raw.p50 + per_node
        print(f"  {protocol.upper()} (p50 / p99 ms):")
        print(f"    raw tritonclient (in turn)      {raw.p50:7.2f} / {raw.p99:7.2f}")
        print(f"    run, start -> succeeded in db   {wall.p50:7.2f} / {wall.p99:7.2f}   "
              f"x{wall.p50 / raw.p50:.2f} of raw")
        print(f"    run, as recorded (created -> finished) "
              f"{statistics.median(recorded):.2f} / {np.percentile(recorded, 99):.2f}")
        print(f"      node queued -> started on the worker (Celery dispatch) "
              f"{statistics.median(dispatch):.2f} / {np.percentile(dispatch, 99):.2f}")
        print(f"      node started -> finished (claim, load, execute, audit, settle) "
              f"{statistics.median(execute):.2f} / {np.percentile(execute, 99):.2f}")
        print(f"      node finished -> run finished "
              f"{statistics.median(settle):.2f} / {np.percentile(settle, 99):.2f}")
        print(f"    target 1.2 x raw + per-node overhead = {target:.2f} ms: "
              f"{'met' if wall.p50 <= target else 'NOT met'} (p50)")
    print(f"  engine overhead per node (bench/engine.py: chains of 41 vs 1 inline core.noop, "
          f"{runs} runs each): {per_node:.3f} ms "
          f"(run of 1 node {overhead['run_1_ms']:.2f} ms, of 41 {overhead['run_41_ms']:.2f} ms)")


def run(connections: dict[str, Connection], calls: int, items: int, runs: int,
        keep: bool) -> None:
    print(f"machine: {os.cpu_count()} cores; {_uptime()}")
    for protocol, connection in connections.items():
        print(f"{protocol.upper()} ({connection.address})")
        single_item(connection, calls)
        many_items(connection, items)
    close_shared_clients()
    if runs:
        through_runs(connections, runs, keep=keep)


def main() -> None:
    parser = argparse.ArgumentParser(description="Inference overheads")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=200,
                        help="runs per protocol through the engine and a worker (0: skip)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the weft_bench_inference database")
    parser.add_argument("--http", help="host:port of a running server (default: start one)")
    parser.add_argument("--grpc", help="host:port of a running server's gRPC endpoint")
    parser.add_argument("--token", default="", help="the running server's access token")
    args = parser.parse_args()
    if args.http and args.grpc:
        from apps.inference.client import auth_headers
        from apps.inference.constants import DEMO_MODEL_NAMES

        run(
            {
                p: Connection.create(a, p, auth_headers(p, args.token), models=DEMO_MODEL_NAMES)
                for p, a in (("http", args.http), ("grpc", args.grpc))
            },
            args.calls,
            args.items,
            args.runs,
            args.keep,
        )
        return
    started = time.perf_counter()
    with TritonProcess.start() as triton:
        print(f"demo Triton server ready in {time.perf_counter() - started:.1f} s")
        run({p: triton.connection(p) for p in ("http", "grpc")}, args.calls, args.items,
            args.runs, args.keep)


if __name__ == "__main__":
    main()
