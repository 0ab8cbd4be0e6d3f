"""The inference node's call path against a Triton whose model runs on a GPU (figures only).

    python -m bench.inference_gpu [--rows 512] [--calls 300] [--concurrent 1000]

One PyTriton server (the same Triton 2.51 that `make run` starts) serves two models:
`invoice_risk`, the demo model as the demo server serves it (numpy, on the CPU), and
`invoice_risk_gpu`, the same weights evaluated with PyTorch on the CUDA device. Then,
over HTTP and over gRPC, through Weft's own call path (the node's synchronous client,
`apps.inference.client.TritonClient`, and the io executor's cross-run batcher,
`apps.inference.batching.TritonBatcher`):

1. agreement: --rows invoices through both models in one list call: the largest
   difference of P(risky) and the labels that differ (none may; exit status 2 if any);
2. one item per call, call after call (--calls): p50 / p99 ms, CPU model vs GPU model;
3. --concurrent single-item calls at once through the batcher, as that many runs'
   model nodes make them, with the default 2 ms linger and with none: requests sent,
   wall time, calls/s; each answer is checked against its own row's expected output
   (the batcher splits a grouped answer back to the right caller).

Needs PyTorch with a CUDA device (not one of Weft's dependencies: the GPU machine has
it). Without one it says so and stops, unless --allow-cpu, which serves the "GPU" model
with numpy instead (to check this script on a machine without a GPU).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apps.inference.batching import TritonBatcher
from apps.inference.client import Connection, TritonClient, auth_headers
from apps.inference.constants import LOOPBACK
from apps.inference.demo_models import invoice_risk_model
from apps.inference.launcher import free_port
from apps.inference.server import ServerSettings, build_triton, use_interpreter_libpython
from models import datasets, invoice_risk

CPU_MODEL = "invoice_risk"
GPU_MODEL = "invoice_risk_gpu"
TOKEN = "bench-inference-gpu"


class GpuForward:
    """P(ok), P(risky) for a batch of feature rows, computed on the CUDA device."""

    def __init__(self, model: invoice_risk.InvoiceRiskModel, *, allow_cpu: bool) -> None:
        self.model = model
        self.requests = 0
        self.rows = 0
        self.device_name = ""
        self._torch: Any = None
        try:
            import torch
        except ImportError:
            torch = None
        if torch is not None and torch.cuda.is_available():
            self._torch = torch
            device = torch.device("cuda")
            self.device_name = torch.cuda.get_device_name(device)
            self._mean = torch.as_tensor(model.mean, dtype=torch.float32, device=device)
            self._std = torch.as_tensor(model.std, dtype=torch.float32, device=device)
            self._weights = torch.as_tensor(model.weights, dtype=torch.float32, device=device)
            self._device = device
        elif allow_cpu:
            self.device_name = "numpy on the CPU (--allow-cpu: no CUDA device here)"
        else:
            raise SystemExit("no CUDA device (PyTorch missing or no GPU): nothing to measure; "
                             "--allow-cpu checks the script with numpy instead")

    def __call__(self, features: np.ndarray) -> np.ndarray:
        self.requests += 1
        self.rows += len(features)
        torch = self._torch
        if torch is None:
            return self.model.predict_proba(features.astype(np.float32))
        x = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32)).to(self._device)
        z = ((x - self._mean) / self._std) @ self._weights + self.model.bias
        risky = torch.sigmoid(z.clamp(-30.0, 30.0))
        return torch.stack([1.0 - risky, risky], dim=1).cpu().numpy()


def serve(forward: GpuForward, *, triton_sees_gpu: bool) -> tuple[Any, int, int]:
    """Start Triton with both models; (triton, http port, grpc port). Without
    triton_sees_gpu the server process is started with no CUDA device visible (the
    model's forward still runs on it, in this process, which opened it already)."""
    from pytriton.decorators import batch
    from pytriton.model_config import ModelConfig

    use_interpreter_libpython()
    http_port, grpc_port = free_port(), free_port()
    triton = build_triton(ServerSettings(http_port, grpc_port, free_port(), TOKEN))
    demo = invoice_risk_model()
    labels = np.array([label.encode() for label in forward.model.labels], dtype=object)

    @batch
    def infer_gpu(features: np.ndarray) -> dict[str, np.ndarray]:
        probabilities = forward(features)
        return {"probabilities": probabilities,
                "label": labels[probabilities.argmax(axis=1)].reshape(-1, 1)}

    for name, infer, outputs in (
        (CPU_MODEL, demo.infer, list(demo.outputs)),
        (GPU_MODEL, infer_gpu, [o for o in demo.outputs if o.name in ("probabilities", "label")]),
    ):
        triton.bind(model_name=name, infer_func=infer, inputs=list(demo.inputs), outputs=outputs,
                    config=ModelConfig(max_batch_size=demo.max_batch_size), strict=False)
    hidden = os.environ.get("CUDA_VISIBLE_DEVICES")
    if not triton_sees_gpu:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    try:
        triton.run()
    finally:
        if hidden is None:
            os.environ.pop("CUDA_VISIBLE_DEVICES", None)
        else:
            os.environ["CUDA_VISIBLE_DEVICES"] = hidden
    return triton, http_port, grpc_port


def p50_p99(samples: list[float]) -> str:
    return f"{statistics.median(samples):7.2f} / {float(np.percentile(samples, 99)):7.2f}"


def agreement(client: TritonClient, features: np.ndarray) -> int:
    rows = [row.tolist() for row in features]
    cpu = client.infer(CPU_MODEL, {"features": rows}).predictions
    gpu = client.infer(GPU_MODEL, {"features": rows}).predictions
    gap = max(abs(a.outputs["probabilities"][1] - b.outputs["probabilities"][1])
              for a, b in zip(cpu, gpu, strict=True))
    differ = sum(a.label != b.label for a, b in zip(cpu, gpu, strict=True))
    risky = sum(p.label == "risky" for p in gpu)
    print(f"  agreement, {len(rows)} invoices in one list call: max |dP(risky)| {gap:.2e}, "
          f"labels differing {differ}, risky {risky}")
    return differ + (gap > 1e-4)


def one_by_one(client: TritonClient, features: np.ndarray, calls: int) -> None:
    samples: dict[str, list[float]] = {CPU_MODEL: [], GPU_MODEL: []}
    for i in range(calls + 20):
        row = features[i % len(features)].tolist()
        for model, times in samples.items():
            started = time.perf_counter()
            client.infer(model, {"features": row})
            if i >= 20:  # warm-up
                times.append((time.perf_counter() - started) * 1000)
    print(f"  one item per call, {calls} calls (p50 / p99 ms): "
          f"CPU model {p50_p99(samples[CPU_MODEL])}   GPU model {p50_p99(samples[GPU_MODEL])}")


async def storm(connection: Connection, spec: Any, features: np.ndarray, expected: np.ndarray,
                linger_s: float) -> tuple[int, float, int]:
    """All calls at once through one batcher: (requests, seconds, wrong answers)."""
    batcher = TritonBatcher(connection)
    try:
        await batcher.infer(spec, "", {"features": features[:1]}, rows=1, linger_s=0)  # connect
        batcher.requests = 0
        started = time.perf_counter()
        answers = await asyncio.gather(*[
            batcher.infer(spec, "", {"features": features[i:i + 1]}, rows=1, linger_s=linger_s)
            for i in range(len(features))])
        seconds = time.perf_counter() - started
    finally:
        await batcher.close()
    wrong = sum(not np.allclose(arrays["probabilities"][0], expected[i], atol=1e-5)
                for i, (_served, arrays, _requests) in enumerate(answers))
    return batcher.requests, seconds, wrong


def concurrent(connection: Connection, spec: Any, features: np.ndarray,
               expected: np.ndarray) -> int:
    wrong_total = 0
    line = [f"  {len(features)} single-item calls at once through the batcher:"]
    for label, linger in (("linger 2 ms", 0.002), ("no linger", 0.0)):
        requests, seconds, wrong = asyncio.run(storm(connection, spec, features, expected, linger))
        wrong_total += wrong
        line.append(f"{label}: {requests} requests, {seconds * 1000:.0f} ms, "
                    f"{len(features) / seconds:,.0f} calls/s, {wrong} wrong;")
    print(" ".join(line))
    return wrong_total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=512)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--concurrent", type=int, default=1000)
    parser.add_argument("--allow-cpu", action="store_true")
    parser.add_argument("--triton-cpu-only", action="store_true",
                        help="start the Triton server process with no CUDA device visible")
    args = parser.parse_args(argv)

    model = invoice_risk.InvoiceRiskModel.load()
    forward = GpuForward(model, allow_cpu=args.allow_cpu)
    features = datasets.invoices(max(args.rows, args.concurrent, 64), seed=2026).features
    expected = model.predict_proba(features)
    started = time.perf_counter()
    triton, http_port, grpc_port = serve(forward, triton_sees_gpu=not args.triton_cpu_only)
    print(f"Triton ready in {time.perf_counter() - started:.1f} s "
          f"({'no CUDA device visible to it' if args.triton_cpu_only else 'the GPU visible to it'}); "
          f"{GPU_MODEL} runs on {forward.device_name}")
    failures = 0
    try:
        for protocol, port in (("http", http_port), ("grpc", grpc_port)):
            connection = Connection.create(f"{LOOPBACK}:{port}", protocol,
                                           auth_headers(protocol, TOKEN))
            print(f"{protocol}:")
            try:
                with TritonClient(connection) as client:
                    failures += agreement(client, features[:args.rows])
                    one_by_one(client, features, args.calls)
                    spec = client.model_spec(GPU_MODEL)
                failures += concurrent(connection, spec, features[:args.concurrent],
                                       expected[:args.concurrent])
            except Exception as exc:  # noqa: BLE001 - reported, and the other protocol tried
                failures += 1
                print(f"  FAILED: {type(exc).__name__}: {exc}")
    finally:
        triton.stop()
    print(f"{GPU_MODEL} answered {forward.requests} requests, {forward.rows} rows, on "
          f"{forward.device_name}")
    if forward._torch is not None:
        print(f"GPU memory at peak: {forward._torch.cuda.max_memory_allocated() / 1e6:.1f} MB")
    print("agreement: ok" if not failures else f"agreement: {failures} FAILURES")
    return 2 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
