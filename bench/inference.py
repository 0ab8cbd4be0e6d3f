"""Inference overheads, printed side by side (figures only, never pass/fail).

    uv run python -m bench.inference [--calls 300] [--items 1000]

Starts the demo Triton server on free ports (or uses --http/--grpc addresses
of a running one with --token), then for HTTP and gRPC measures:
1. one item: a raw tritonclient call vs our client vs the node's execute()
   (with CEL evaluation and the shared client), and the overhead ratio;
2. N items: one batched call (split by the model's max batch size, sent in
   parallel) vs N calls one by one, and the speed-up.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cel
import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient

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
        services={"triton": {"bench": connection}, "expressions": cel.evaluate},
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


def run(connections: dict[str, Connection], calls: int, items: int) -> None:
    for protocol, connection in connections.items():
        print(f"{protocol.upper()} ({connection.address})")
        single_item(connection, calls)
        many_items(connection, items)
    close_shared_clients()


def main() -> None:
    parser = argparse.ArgumentParser(description="Inference overheads")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--http", help="host:port of a running server (default: start one)")
    parser.add_argument("--grpc", help="host:port of a running server's gRPC endpoint")
    parser.add_argument("--token", default="", help="the running server's access token")
    args = parser.parse_args()
    if args.http and args.grpc:
        from apps.inference.client import auth_headers

        run(
            {
                p: Connection.create(a, p, auth_headers(p, args.token))
                for p, a in (("http", args.http), ("grpc", args.grpc))
            },
            args.calls,
            args.items,
        )
        return
    started = time.perf_counter()
    with TritonProcess.start() as triton:
        print(f"demo Triton server ready in {time.perf_counter() - started:.1f} s")
        run({p: triton.connection(p) for p in ("http", "grpc")}, args.calls, args.items)


if __name__ == "__main__":
    main()
