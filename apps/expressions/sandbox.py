"""Evaluation in a subprocess whose limits the operating system enforces while it runs.

An expression whose bound (apps.expressions.bounds) is not small runs here, in a
long-lived worker process (`python -m apps.expressions.sandbox`, no Django) with an
address-space limit (RLIMIT_AS: every intermediate value together stays under it),
and a wall-clock limit that the caller enforces by killing the worker. The caller
waits on a pipe, without the GIL, so the rest of its process (other requests, the
health check) carries on while a hostile expression spins or grows.

Protocol: one JSON line each way. Request `{"expression", "declarations", "context",
"max_result_bytes"}`; answer `{"ok": value}` or `{"error": message}`.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import selectors
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

MEMORY_ERROR = "memory"


@dataclass(frozen=True)
class SandboxLimits:
    seconds: float = 2.0  # wall-clock time of one evaluation
    memory_bytes: int = 256 * 1024 * 1024  # address space the worker may add to its own
    workers: int = 4  # worker processes per calling process


class SandboxError(Exception):
    """The evaluation was stopped: `kind` is "time" or "memory"."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class _Worker:
    def __init__(self, limits: SandboxLimits) -> None:
        env = {**os.environ, "WEFT_SANDBOX_MEMORY": str(limits.memory_bytes),
               "PYTHONDONTWRITEBYTECODE": "1"}
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "apps.expressions.sandbox"], cwd=root, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            close_fds=True)
        self.buffer = b""
        self.ready = False

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                stream.close()

    def _line(self, deadline: float) -> bytes:
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self.buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    self.kill()
                    raise SandboxError("time", "time")
                chunk = os.read(fd, 1 << 16)
                if not chunk:  # the worker died: out of memory (or killed)
                    self.kill()
                    raise SandboxError(MEMORY_ERROR, "the evaluation process stopped")
                self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line

    def call(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one request and wait for its answer; SandboxError on time or death.
        A fresh worker's start-up (its interpreter and cel-cpp) is not counted."""
        if not self.ready:
            try:
                self._line(time.monotonic() + START_SECONDS)
            except SandboxError:
                raise SandboxError("start", "the evaluation process did not start") from None
            self.ready = True
        payload = json.dumps(request, separators=(",", ":")).encode() + b"\n"
        deadline = time.monotonic() + timeout
        try:
            self.proc.stdin.write(payload)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self.kill()
            raise SandboxError(MEMORY_ERROR, "the evaluation process stopped") from None
        return json.loads(self._line(deadline))


class SandboxPool:
    """Up to `limits.workers` workers, started when first needed, replaced when killed."""

    def __init__(self, limits: SandboxLimits | None = None) -> None:
        self.limits = limits or SandboxLimits()
        self.idle: list[_Worker] = []
        self.count = 0
        self.condition = threading.Condition()
        self.pid = os.getpid()

    def _take(self, timeout: float) -> _Worker:
        deadline = time.monotonic() + timeout
        with self.condition:
            if self.pid != os.getpid():  # forked (a Celery child): the workers are not ours
                self.idle, self.count, self.pid = [], 0, os.getpid()
            while True:
                while self.idle:
                    worker = self.idle.pop()
                    if worker.alive():
                        return worker
                    self.count -= 1
                if self.count < self.limits.workers:
                    self.count += 1
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SandboxError("time", "busy")
                self.condition.wait(left)
        try:
            return _Worker(self.limits)
        except Exception:
            with self.condition:
                self.count -= 1
                self.condition.notify()
            raise

    def _give(self, worker: _Worker) -> None:
        with self.condition:
            if worker.alive():
                self.idle.append(worker)
            else:
                self.count -= 1
            self.condition.notify()

    def evaluate(self, request: dict[str, Any], *, seconds: float | None = None) -> dict:
        seconds = self.limits.seconds if seconds is None else seconds
        started = time.monotonic()
        worker = self._take(seconds)
        if not worker.ready:
            started = time.monotonic()  # waiting for a free worker counts; its start does not
        try:
            return worker.call(request, max(seconds - (time.monotonic() - started), 0.05))
        finally:
            self._give(worker)


START_SECONDS = 15.0  # a fresh worker's interpreter start, on a loaded machine
pool = SandboxPool()


# --- The worker process -------------------------------------------------------------------

def _limit_memory(extra: int) -> None:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[0])
    current = pages * os.sysconf("SC_PAGE_SIZE")
    resource.setrlimit(resource.RLIMIT_AS, (current + extra, current + extra))


def _serve() -> None:
    from apps.expressions.environment import CelError, compile_checked, execute, json_size

    _limit_memory(int(os.environ.get("WEFT_SANDBOX_MEMORY", 256 * 1024 * 1024)))
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    stdout.write(b"ready\n")
    stdout.flush()
    for line in stdin:
        try:
            request = json.loads(line)
            declarations = tuple(tuple(item) for item in request["declarations"])
            program = compile_checked(request["expression"], declarations)
            value = execute(program, request["context"])
            limit = int(request["max_result_bytes"])
            if json_size(value, limit) > limit:
                answer = {"error": f"The result is larger than {limit:,} bytes (the limit)."}
            else:
                answer = {"ok": value}
        except CelError as exc:
            answer = {"error": exc.message}
        except MemoryError:
            stdout.write(b'{"memory": true}\n')
            stdout.flush()
            os._exit(3)  # start afresh: the heap may be fragmented near the limit
        stdout.write(json.dumps(answer, separators=(",", ":")).encode() + b"\n")
        stdout.flush()


if __name__ == "__main__":
    _serve()
