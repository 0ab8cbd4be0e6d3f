"""A local Triton server (through PyTriton) serving the demo models.

    uv run python -m apps.inference.server --http-port 8000 --grpc-port 8001 --metrics-port 8002

Binds to 127.0.0.1 only. Stops cleanly on SIGTERM or SIGINT. Prints one line
`weft-triton ready http=... grpc=...` on stdout once every model is ready.
The access token for the protected endpoints (repository, statistics, logging)
comes from --access-token or WEFT_TRITON_ACCESS_TOKEN; without one a random
token is generated and printed, so the endpoints are never left open.
No Django here.
"""

# ruff: noqa: E402 - the environment below is set before any import that loads numpy
from __future__ import annotations

import os

# One BLAS thread per process, unless the operator says otherwise: set before numpy loads
# (here, in the Python backends Triton starts from this environment, and in the
# processes that run the models' code). The demo models are a few small matrix products
# per call; parallelism comes from batching and from Triton's model instances. With a
# BLAS thread per core, each call wakes them all to spin: on 16 cores the demo server
# burned 60-250 ms of CPU per call (bench/RESULTS.md).
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse
import logging
import secrets
import signal
import sys
import sysconfig
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from types import FrameType

from pytriton.model_config import ModelConfig
from pytriton.triton import Triton, TritonConfig, TritonSecurityConfig

from apps.inference.constants import LOOPBACK, TOKEN_ENV
from apps.inference.demo_models import DEMO_MODEL_FACTORIES

LOGGER = logging.getLogger("weft.inference.server")


@dataclass(frozen=True)
class ServerSettings:
    http_port: int = 8000
    grpc_port: int = 8001
    metrics_port: int = 8002
    access_token: str = ""
    log_verbose: int = 0
    # How long a stopping Triton waits for open client connections (its default is 30 s).
    exit_timeout_s: int = 3


def use_interpreter_libpython() -> None:
    """Make Triton's Python-backend stub load this interpreter's libpython, not the
    system one (which breaks `multiprocessing` in the stub: see README.md)."""
    libdir = sysconfig.get_config_var("LIBDIR") or ""
    current = os.environ.get("LD_LIBRARY_PATH", "")
    if libdir and libdir not in current.split(os.pathsep):
        os.environ["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in (libdir, current) if p)


def build_triton(settings: ServerSettings) -> Triton:
    config = TritonConfig(
        http_address=LOOPBACK,
        http_port=settings.http_port,
        grpc_address=LOOPBACK,
        grpc_port=settings.grpc_port,
        metrics_address=LOOPBACK,
        metrics_port=settings.metrics_port,
        log_verbose=settings.log_verbose,
        exit_timeout_secs=settings.exit_timeout_s,
    )
    security = TritonSecurityConfig(access_token=settings.access_token)
    return Triton(config=config, security_config=security)


def bind_demo_models(triton: Triton) -> list[str]:
    names = []
    for factory in DEMO_MODEL_FACTORIES:
        model = factory()
        triton.bind(
            model_name=model.name,
            infer_func=model.infer,
            inputs=list(model.inputs),
            outputs=list(model.outputs),
            config=ModelConfig(max_batch_size=model.max_batch_size),
            strict=False,
        )
        names.append(model.name)
    return names


def serve(settings: ServerSettings, stop: threading.Event) -> int:
    """Start Triton, report readiness, block until `stop` is set or Triton dies."""
    use_interpreter_libpython()
    triton = build_triton(settings)
    try:
        names = bind_demo_models(triton)
        triton.run()
        print(
            f"weft-triton ready http={LOOPBACK}:{settings.http_port} "
            f"grpc={LOOPBACK}:{settings.grpc_port} models={','.join(names)}",
            flush=True,
        )
        while not stop.wait(1.0):
            if not triton.is_alive():
                LOGGER.error("Triton stopped on its own")
                return 1
        return 0
    finally:
        triton.stop()


def parse_args(argv: Sequence[str] | None) -> ServerSettings:
    parser = argparse.ArgumentParser(description="Serve Weft's demo models with a local Triton.")
    parser.add_argument("--http-port", type=int, default=8000)
    parser.add_argument("--grpc-port", type=int, default=8001)
    parser.add_argument("--metrics-port", type=int, default=8002)
    parser.add_argument("--access-token", default=os.environ.get(TOKEN_ENV, ""))
    parser.add_argument("--log-verbose", type=int, default=0)
    parser.add_argument(
        "--exit-timeout",
        type=int,
        default=ServerSettings.exit_timeout_s,
        help="seconds a stopping server waits for open connections",
    )
    args = parser.parse_args(argv)
    token = args.access_token
    if not token:
        token = secrets.token_urlsafe(24)
        print(f"weft-triton generated access token: {token}", flush=True)
    return ServerSettings(
        args.http_port,
        args.grpc_port,
        args.metrics_port,
        token,
        args.log_verbose,
        args.exit_timeout,
    )


def install_stop_handlers(stop: threading.Event) -> None:
    def handle(signum: int, _frame: FrameType | None) -> None:
        LOGGER.info("signal %s: stopping Triton", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = parse_args(argv)
    stop = threading.Event()
    install_stop_handlers(stop)
    return serve(settings, stop)


if __name__ == "__main__":
    sys.exit(main())
