"""Fixtures of the inference tests, on the session's real Triton server (PyTriton, demo
models: `triton` and `registered_server` in tests/fixtures/triton.py), over HTTP and gRPC.

These tests need no database and no Django; run them alone with
`uv run pytest tests/inference -p no:django -o addopts=""`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # without pytest-django (which adds it), make `apps` importable
    sys.path.insert(0, str(ROOT))

from apps.inference.client import Connection, TritonClient  # noqa: E402
from apps.inference.launcher import TritonProcess  # noqa: E402


@pytest.fixture(params=["http", "grpc"])
def protocol(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def connection(triton: TritonProcess, protocol: str) -> Connection:
    return triton.connection(protocol)


@pytest.fixture
def client(connection: Connection) -> Iterator[TritonClient]:
    with TritonClient(connection, timeout_s=10.0, max_parallel=4) as triton_client:
        yield triton_client


@pytest.fixture
def cel_evaluate() -> Callable[[str, dict[str, Any]], Any]:
    """The `expressions` service as the engine provides it: the real bounded evaluator."""
    from apps.runs.node_services import node_services

    return node_services()["expressions"]
