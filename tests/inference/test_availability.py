"""A server that is gone or silent gives retryable errors, quickly."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from apps.inference.client import Connection, TritonClient
from apps.inference.errors import InferenceTimeout, ServerUnavailable
from apps.inference.launcher import TritonProcess


@pytest.fixture(scope="module")
def stopped_triton() -> TritonProcess:
    """A real server, used once, then stopped with SIGTERM: its ports are closed."""
    server = TritonProcess.start()
    with TritonClient(server.connection("http")) as client:
        assert client.infer("echo", {"int8": [1]}).predictions
    assert server.stop() == 0
    return server


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A socket that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_stopped_server_gives_a_retryable_error_fast(
    stopped_triton: TritonProcess, protocol: str
) -> None:
    with TritonClient(stopped_triton.connection(protocol), timeout_s=10.0) as client:
        started = time.monotonic()
        with pytest.raises(ServerUnavailable) as err:
            client.infer("echo", {"int8": [1]})
        assert time.monotonic() - started < 2.0
        assert err.value.retryable
        assert not isinstance(err.value, InferenceTimeout)
        assert not client.is_server_ready()


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_silent_server_times_out_as_retryable(silent_port: int, protocol: str) -> None:
    connection = Connection.create(f"127.0.0.1:{silent_port}", protocol)
    with TritonClient(connection, timeout_s=1.0) as client:
        started = time.monotonic()
        with pytest.raises(InferenceTimeout) as err:
            client.infer("echo", {"int8": [1]})
        assert 0.9 < time.monotonic() - started < 5.0
        assert err.value.retryable
