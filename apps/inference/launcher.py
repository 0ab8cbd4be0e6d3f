"""Start and stop the demo Triton server (`apps.inference.server`) as a child process.

Used by the tests, the benchmark and the embedded `make run` launcher:

    with TritonProcess.start() as triton:    # free ports, a fresh token, waits until ready
        TritonClient(triton.connection("grpc")).infer(...)

No Django here.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from apps.inference.client import Connection, TritonClient, auth_headers
from apps.inference.constants import DEMO_MODEL_NAMES, LOOPBACK, TOKEN_ENV

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


class TritonStartError(RuntimeError):
    pass


@dataclass
class TritonProcess:
    http_port: int
    grpc_port: int
    metrics_port: int
    access_token: str
    process: subprocess.Popen[bytes]
    log: IO[bytes]
    models: tuple[str, ...] = field(default=DEMO_MODEL_NAMES)

    @classmethod
    def start(
        cls,
        *,
        http_port: int = 0,
        grpc_port: int = 0,
        metrics_port: int = 0,
        access_token: str = "",
        ready_timeout_s: float = 120.0,
    ) -> TritonProcess:
        triton = cls.spawn(
            http_port=http_port,
            grpc_port=grpc_port,
            metrics_port=metrics_port,
            access_token=access_token,
        )
        triton.wait_ready(ready_timeout_s)
        return triton

    @classmethod
    def spawn(
        cls,
        *,
        http_port: int = 0,
        grpc_port: int = 0,
        metrics_port: int = 0,
        access_token: str = "",
    ) -> TritonProcess:
        """Start the server without waiting (call `wait_ready` later): `make run`
        migrates the database meanwhile."""
        token = access_token or secrets.token_urlsafe(24)
        log = tempfile.NamedTemporaryFile(prefix="weft-triton-", suffix=".log", delete=False)  # noqa: SIM115
        ports = [http_port or free_port(), grpc_port or free_port(), metrics_port or free_port()]
        command = [
            sys.executable,
            "-m",
            "apps.inference.server",
            "--http-port",
            str(ports[0]),
            "--grpc-port",
            str(ports[1]),
            "--metrics-port",
            str(ports[2]),
        ]
        env = {**os.environ, TOKEN_ENV: token}
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        return cls(ports[0], ports[1], ports[2], token, process, log)

    def connection(self, protocol: str = "http") -> Connection:
        port = self.grpc_port if protocol == "grpc" else self.http_port
        return Connection.create(
            f"{LOOPBACK}:{port}",
            protocol,
            auth_headers(protocol, self.access_token),
            models=self.models,
        )

    def log_tail(self, lines: int = 30) -> str:
        text = Path(self.log.name).read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        with TritonClient(self.connection("http"), timeout_s=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise TritonStartError(
                        f"Triton exited with {self.process.returncode}:\n{self.log_tail()}"
                    )
                if client.is_server_ready() and all(s.ready for s in client.list_models()):
                    return
                time.sleep(0.25)
        self.stop()
        raise TritonStartError(f"Triton was not ready after {timeout_s:.0f} s:\n{self.log_tail()}")

    def stop(self, timeout_s: float = 30.0) -> int:
        """SIGTERM (the server stops Triton cleanly), then SIGKILL if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        if self.process.returncode == 0:  # keep the log of a server that failed
            Path(self.log.name).unlink(missing_ok=True)
        return int(self.process.returncode)

    def __enter__(self) -> TritonProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
