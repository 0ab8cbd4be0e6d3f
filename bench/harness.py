"""What the benchmarks that need Django share (engine.py, inference.py): the embedded
PostgreSQL and Redis (`make services`), an optional database of their own, published
workflows, and a real Celery worker process pointed at the same database.

    from bench import harness
    harness.django_setup(database="weft_bench_x")   # before any Django import
    workflow = harness.publish("name", harness.flow(("start", "trigger.manual"), ...))
    with harness.celery_worker(["inference"]) as worker: ...
    harness.drop_database()                          # at the end
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

_state: dict[str, str] = {}


def _database_url(base_url: str, name: str) -> str:
    import psycopg

    info = psycopg.conninfo.conninfo_to_dict(base_url)
    host = info.get("host", "")
    user = info.get("user", "postgres")
    port = info.get("port", 5432)
    if host.startswith("/"):
        return f"postgresql://{user}:@/{name}?host={host}&port={port}"
    return f"postgresql://{user}:{info.get('password', '')}@{host}:{port}/{name}"


def _recreate(base_url: str, name: str, *, drop_only: bool = False) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))
        if not drop_only:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def django_setup(*, database: str = "", broker_db: int | None = None,
                 test_nodes: bool = False, migrate: bool = True) -> None:
    """Start (or attach to) the embedded services and set Django up. With `database`,
    work in a fresh database of that name on the same server (dropped by
    `drop_database`); with `broker_db`, Celery uses that Redis database, so that no
    other worker of this checkout takes the benchmark's tasks."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("WEFT_LOG_LEVEL", "WARNING")
    if test_nodes:
        os.environ["WEFT_TEST_NODES"] = "1"
    from config import embedded

    urls = embedded.up()
    os.environ.setdefault("DATABASE_URL", urls["database_url"])
    os.environ.setdefault("REDIS_URL", urls["redis_url"])
    if database:
        base = os.environ["DATABASE_URL"]
        _recreate(base, database)
        _state.update(base=base, database=database)
        os.environ["DATABASE_URL"] = _database_url(base, database)
    if broker_db is not None:
        redis = os.environ["REDIS_URL"].rstrip("/")
        redis = redis.rsplit("/", 1)[0] if redis.count("/") > 2 else redis
        os.environ["WEFT_BROKER_URL"] = f"{redis}/{broker_db}"
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def drop_database() -> None:
    """Drop the database `django_setup(database=...)` made (closing this process's
    connections first)."""
    if not _state.get("database"):
        return
    from django.db import connections

    connections.close_all()
    _recreate(_state["base"], _state["database"], drop_only=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def web_server(workers: int = 2) -> tuple[subprocess.Popen, int]:
    """uvicorn serving Weft as in production (DEBUG off: no query log, no debug pages)
    on a free port, once it accepts connections; the caller terminates it."""
    port = free_port()
    env = {**os.environ, "WEFT_LOG_LEVEL": "WARNING", "WEFT_DEBUG": "0"}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers), "--no-access-log", "--log-level",
         "warning"], cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 90  # a loaded machine starts uvicorn slowly
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server, port
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.terminate()
                raise
            time.sleep(0.2)


def pct(values: Sequence[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def flow(*nodes, edges=()):
    from tests.fixtures.runs import flow as make

    return make(*nodes, edges=edges)


def publish(name, graph):
    from django.contrib.auth import get_user_model

    from apps.accounts.services import user_create
    from apps.workflows.services import workflow_create, workflow_publish

    user = get_user_model().objects.filter(username="bench").first() or user_create(
        username="bench", roles=["editor"])
    workflow = workflow_create(user=user, name=name, graph=graph)
    workflow_publish(workflow=workflow, user=user)
    return workflow


@contextmanager
def celery_worker(queues: Sequence[str], *, concurrency: int = 2,
                  log_name: str = "bench-worker.log",
                  options: Sequence[str] | None = None) -> Iterator[subprocess.Popen]:
    """A real `celery worker` process (prefork, or `options` such as config.launch's
    IO_WORKER_OPTIONS) on `queues`, with this process's environment (database,
    broker); waits until it answers a ping. Its log goes to var/<log_name>."""
    (ROOT / "var").mkdir(exist_ok=True)
    log = open(ROOT / "var" / log_name, "ab")  # noqa: SIM115
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "celery_worker", "worker", "-Q",
         ",".join(queues), *(options or ["--concurrency", str(concurrency)]),
         "--loglevel", "WARNING",
         "--without-gossip", "--without-mingle", "--hostname", f"bench{os.getpid()}@%h"],
        cwd=ROOT, env={**os.environ, "WEFT_DEBUG": "0"}, stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True)  # as deployed: no query log
    from celery_worker.app import app

    try:
        deadline = time.monotonic() + 120
        while not app.control.ping(timeout=0.5):
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Celery worker did not start; see var/{log_name}")
            time.sleep(0.2)
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log.close()


class CPUByProcess:
    """CPU seconds (user + system) the processes of a measurement spent, by kind:
    web (uvicorn and its workers), worker (celery), postgres, redis, triton (the demo
    server: PyTriton, tritonserver and its Python backends) and this process.

        cpu = CPUByProcess()       # starts counting
        ...                        # the measured work
        print(cpu.per_item(300))   # "web 5.0, worker 14.9, ... ms CPU per run"
    """

    KINDS = ("web", "worker", "postgres", "redis", "triton", "driver")

    def __init__(self) -> None:
        self.before = self._now()

    @staticmethod
    def _kind(pid: int, command: str) -> str:
        if pid == os.getpid():
            return "driver"
        if "postgres" in command:
            return "postgres"
        if "redis-server" in command:
            return "redis"
        if "celery" in command:
            return "worker"
        if any(word in command for word in ("tritonserver", "apps.inference.server",
                                            "triton_python_backend", "pytriton")):
            return "triton"
        if "uvicorn" in command or "spawn_main" in command:
            return "web"
        return ""

    def _now(self) -> dict[int, tuple[str, float]]:
        import psutil

        found = {}
        for process in psutil.process_iter(["cmdline", "cpu_times"]):
            try:
                kind = self._kind(process.pid, " ".join(process.info["cmdline"] or []))
                times = process.info["cpu_times"]
                if kind and times is not None:
                    found[process.pid] = (kind, times.user + times.system)
            except (psutil.Error, TypeError):
                continue
        return found

    def spent(self) -> dict[str, float]:
        """CPU seconds by kind since the start (processes started since count whole)."""
        totals = dict.fromkeys(self.KINDS, 0.0)
        for pid, (kind, seconds) in self._now().items():
            start = self.before.get(pid)
            totals[kind] += seconds - (start[1] if start and start[0] == kind else 0.0)
        return totals

    def per_item(self, count: int, unit: str = "run") -> str:
        spent = self.spent()
        parts = ", ".join(f"{kind} {spent[kind] / count * 1000:.1f}" for kind in self.KINDS
                          if spent[kind] > 0)
        return f"CPU per {unit} (ms): {parts}; all {sum(spent.values()) / count * 1000:.1f}"
