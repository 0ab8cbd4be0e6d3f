"""What `/readyz` checks, each with its own short connection (never the request pool),
all at once, within one deadline: a probe with a 1 s timeout gets an answer, and a
dependency that is down is named without making the others look down.

- PostgreSQL: a direct psycopg connection (connect timeout, statement timeout).
- Redis (cache, channels) and the broker, if it is another server: a direct ping with
  short socket timeouts; Redis also reports its memory (used / limit) and warns before
  it is full (at `WEFT_REDIS_MEMORY_WARN`, default 80 %).
- Triton: every active server registered (read over the same direct connection).
- Processes that `make run` supervises (config/supervision.py): one that is down or
  restarting in a loop.

A check that has not answered by the deadline counts as down ("no answer within ...").
PostgreSQL, Redis, the broker and supervised processes are needed: one of them down
answers 503. A Triton server down is reported as degraded (200): only inference nodes
need it, and they take their own retry and error path.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import psycopg
import redis
from django.conf import settings
from django.db import connections

from config import supervision

DEADLINE_S = 0.9
CONNECT_TIMEOUT_S = 0.5
MEMORY_WARN_RATIO = float(os.environ.get("WEFT_REDIS_MEMORY_WARN", "0.8"))


@dataclass
class Readiness:
    checks: dict[str, str] = field(default_factory=dict)
    down: list[str] = field(default_factory=list)
    degraded: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    redis_memory: dict[str, Any] = field(default_factory=dict)
    processes: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return "down" if self.down else ("degraded" if self.degraded else "ok")

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": self.status, "checks": self.checks,
                                "down": self.down}
        if self.degraded:
            body["degraded"] = self.degraded
        if self.warnings:
            body["warnings"] = self.warnings
        if self.redis_memory:
            body["redis_memory"] = self.redis_memory
        if self.processes:
            body["processes"] = self.processes
        return body


def _failure(exc: BaseException) -> str:
    return f"down: {exc.__class__.__name__}: {exc}".strip()[:300]


# --- PostgreSQL (and the Triton servers registered in it) --------------------------------

def _database_params() -> dict[str, Any]:
    config = connections["default"].settings_dict
    params = {"dbname": config["NAME"], "user": config["USER"],
              "password": config["PASSWORD"], "host": config["HOST"],
              "port": config["PORT"] or None}
    options = {k: v for k, v in (config.get("OPTIONS") or {}).items()
               if k not in ("pool", "server_side_binding", "isolation_level",
                            "assume_role", "options", "application_name")}
    return {k: v for k, v in {**params, **options}.items() if v not in (None, "")}


def _check_postgresql() -> list[tuple[str, str, str, bool, str, list[str]]]:
    """SELECT 1 on a fresh connection; returns the active Triton servers
    (name, url, protocol, tls_verify, ca_path, model_names)."""
    from apps.inference.models import TritonServer

    table = TritonServer._meta.db_table
    # psycopg rounds a connect timeout under 2 s up to 2 s (as libpq does); the
    # deadline of the whole check keeps the answer within 1 s all the same.
    with psycopg.connect(**_database_params(), connect_timeout=1, autocommit=True,
                         options="-c statement_timeout=500",
                         application_name="weft-readyz") as conn:
        conn.execute("SELECT 1")
        return [tuple(row) for row in conn.execute(
            f'SELECT name, url, protocol, tls_verify, ca_path, model_names FROM "{table}" '  # noqa: S608
            "WHERE is_active ORDER BY name")]


def _check_triton(url: str, protocol: str, verify: bool, ca_path: str,
                  models: Sequence[str]) -> None:
    """The server is ready, and so is each model it is registered to serve: a restarted
    server answers "ready" before it has loaded its models, and runs that reach it then
    fail with "unknown model"."""
    from apps.inference.client import Connection, ServerUnavailable, TritonClient

    connection = Connection.create(url, protocol, verify=verify, ca_path=ca_path)
    with TritonClient(connection, timeout_s=CONNECT_TIMEOUT_S) as client:
        client.ensure_ready()
        loading = [name for name in models if not client.is_model_ready(name)]
    if loading:
        listed = ", ".join(repr(name) for name in loading)
        raise ServerUnavailable(f"Triton at {url} is ready but not its model(s) {listed}")


# --- Redis ------------------------------------------------------------------------------

def _server_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 6379}"


def redis_memory(*, url: str) -> dict[str, Any]:
    """Redis's memory in use against its limit (`maxmemory`, 0: none), from INFO."""
    client = redis.Redis.from_url(url, socket_timeout=CONNECT_TIMEOUT_S,
                                  socket_connect_timeout=CONNECT_TIMEOUT_S)
    try:
        client.ping()
        info = client.info("memory")
    finally:
        client.close()
    used, limit = int(info.get("used_memory", 0)), int(info.get("maxmemory", 0))
    return {"used_bytes": used, "limit_bytes": limit,
            "used_ratio": round(used / limit, 3) if limit else None,
            "policy": info.get("maxmemory_policy", "")}


def _ping(url: str) -> None:
    client = redis.Redis.from_url(url, socket_timeout=CONNECT_TIMEOUT_S,
                                  socket_connect_timeout=CONNECT_TIMEOUT_S)
    try:
        client.ping()
    finally:
        client.close()


def _mib(n: int) -> str:
    return f"{n / 1048576:.1f} MiB"


# --- all at once ------------------------------------------------------------------------

class _Checks:
    """Runs checks in daemon threads and collects what answered by the deadline."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.results: dict[str, tuple[bool, Any]] = {}
        self.threads: dict[str, threading.Thread] = {}
        self.lock = threading.Lock()

    def start(self, name: str, check: Callable[[], Any]) -> None:
        def run() -> None:
            try:
                outcome = (True, check())
            except Exception as exc:  # noqa: BLE001 - every failure is reported, none is fatal
                outcome = (False, exc)
            with self.lock:
                self.results[name] = outcome

        thread = threading.Thread(target=run, name=f"readyz-{name}", daemon=True)
        self.threads[name] = thread
        thread.start()

    def wait(self, name: str) -> tuple[bool, Any] | None:
        self.threads[name].join(max(0.0, self.deadline - time.monotonic()))
        with self.lock:
            return self.results.get(name)


def readiness() -> Readiness:
    started = time.monotonic()
    checks = _Checks(started + DEADLINE_S)
    result = Readiness()
    timeout_note = f"down: no answer within {DEADLINE_S:g} s"

    redis_urls = {"redis": settings.CACHE_URL}
    if _server_of(settings.CELERY_BROKER_URL) != _server_of(settings.CACHE_URL):
        redis_urls["broker"] = settings.CELERY_BROKER_URL
    checks.start("postgresql", _check_postgresql)
    checks.start("redis", lambda: redis_memory(url=redis_urls["redis"]))
    if "broker" in redis_urls:
        checks.start("broker", lambda: _ping(redis_urls["broker"]))

    servers: list[tuple[str, str, str, bool, str, list[str]]] = []
    for name in ("postgresql", "redis", "broker"):
        if name not in checks.threads:
            continue
        outcome = checks.wait(name)
        if outcome is None:
            result.checks[name], ok = timeout_note, False
        elif outcome[0]:
            result.checks[name], ok = "ok", True
        else:
            result.checks[name], ok = _failure(outcome[1]), False
        if not ok:
            result.down.append(name)
        elif name == "postgresql":
            servers = outcome[1]
        elif name == "redis":
            _note_memory(result, outcome[1])

    for name, url, protocol, verify, ca_path, models in servers:
        checks.start(f"triton:{name}",
                     lambda u=url, p=protocol, v=verify, c=ca_path, m=models or []:
                     _check_triton(u, p, v, c, m))
    for name, *_ in servers:
        key = f"triton:{name}"
        outcome = checks.wait(key)
        if outcome is not None and outcome[0]:
            result.checks[key] = "ok"
            continue
        result.checks[key] = timeout_note if outcome is None else _failure(outcome[1])
        result.degraded.append(key)

    _note_processes(result)
    return result


def memory_warning(memory: dict[str, Any]) -> str:
    """A warning when Redis's memory nears its limit, else ""."""
    ratio = memory.get("used_ratio")
    if ratio is None or ratio < MEMORY_WARN_RATIO:
        return ""
    return (f"Redis memory is at {ratio:.0%} of its limit ({_mib(memory['used_bytes'])} "
            f"of {_mib(memory['limit_bytes'])}, policy {memory['policy']}): when it is "
            "full, writes fail and the Celery worker exits")


def _note_memory(result: Readiness, memory: dict[str, Any]) -> None:
    result.redis_memory = memory
    warning = memory_warning(memory)
    if warning:
        result.warnings.append(warning)


def supervised_processes() -> dict[str, dict[str, Any]]:
    """The processes that `make run` supervises, when it runs (its state file exists)."""
    state = supervision.read_state()
    now = time.time()
    return {name: supervision.summarize(info, now=now)
            for name, info in sorted(state.get("processes", {}).items())}


def _note_processes(result: Readiness) -> None:
    for name, summary in supervised_processes().items():
        result.processes[name] = summary
        key = f"process:{name}"
        result.checks[key] = summary["health"]
        if summary["down"]:
            result.down.append(key)
