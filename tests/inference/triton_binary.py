"""Triton's own server binary, as `nvidia-pytriton` ships it, started on a model
repository folder: the same server `compose.yaml` runs from NVIDIA's image, without
PyTriton's Python layer in between. Prepared the way PyTriton prepares it (a copy of
the server folder with the Python-backend stub of this interpreter's version, its
bundled libraries and this interpreter's libpython on LD_LIBRARY_PATH)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from apps.inference.client import Connection, TritonClient
from apps.inference.constants import LOOPBACK
from apps.inference.launcher import free_port


def _pytriton_root() -> Path:
    spec = importlib.util.find_spec("pytriton")
    if spec is None or spec.origin is None:
        raise RuntimeError("nvidia-pytriton is not installed (the dev dependency group)")
    return Path(spec.origin).parent


@dataclass
class TritonBinary:
    http_port: int
    grpc_port: int
    process: subprocess.Popen[bytes]
    workdir: Path
    models: tuple[str, ...]

    @classmethod
    def start(cls, *, repository: Path, models: tuple[str, ...], timeout_s: float = 60.0) -> TritonBinary:
        root = _pytriton_root()
        workdir = Path(tempfile.mkdtemp(prefix="weft-tritonserver-"))
        server_dir = workdir / "tritonserver"
        shutil.copytree(root / "tritonserver", server_dir,
                        ignore=shutil.ignore_patterns("python_backend_stubs"))
        version = f"{sys.version_info[0]}.{sys.version_info[1]}"
        shutil.copy(root / "tritonserver" / "python_backend_stubs" / version
                    / "triton_python_backend_stub",
                    server_dir / "backends" / "python" / "triton_python_backend_stub")
        libs = [sysconfig.get_config_var("LIBDIR") or "", str(root.parent / "nvidia_pytriton.libs"),
                os.environ.get("LD_LIBRARY_PATH", "")]
        env = {
            **os.environ,
            "LD_LIBRARY_PATH": os.pathsep.join(p for p in libs if p),
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
            # The stub's Python finds numpy where this interpreter does.
            "PYTHONPATH": os.pathsep.join(p for p in sys.path if p and "site-packages" in p),
        }
        http_port, grpc_port, metrics_port = free_port(), free_port(), free_port()
        command = [
            str(server_dir / "bin" / "tritonserver"),
            f"--model-repository={repository}",
            f"--backend-directory={server_dir / 'backends'}",
            f"--cache-directory={server_dir / 'caches'}",
            f"--http-address={LOOPBACK}", f"--http-port={http_port}",
            f"--grpc-address={LOOPBACK}", f"--grpc-port={grpc_port}",
            f"--metrics-address={LOOPBACK}", f"--metrics-port={metrics_port}",
            "--exit-timeout-secs=3",
        ]
        log = (workdir / "server.log").open("wb")
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        server = cls(http_port, grpc_port, process, workdir, models)
        server.wait_ready(timeout_s)
        return server

    def connection(self, protocol: str) -> Connection:
        port = self.grpc_port if protocol == "grpc" else self.http_port
        return Connection.create(f"{LOOPBACK}:{port}", protocol, models=self.models)

    def log_tail(self) -> str:
        text = (self.workdir / "server.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-40:])

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        with TritonClient(self.connection("http"), timeout_s=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"tritonserver exited:\n{self.log_tail()}")
                if client.is_server_ready() and all(s.ready for s in client.list_models()):
                    return
                time.sleep(0.25)
        log = self.log_tail()
        self.stop()
        raise RuntimeError(f"tritonserver was not ready after {timeout_s:.0f} s:\n{log}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)
