"""`make run`: start embedded services, prepare the database, then run the web server,
a Celery worker and Celery beat under supervision (config/supervision.py) until Ctrl-C
or SIGTERM, which stops every process this launcher started, in order: web, then the
worker and beat, Triton, then Redis and PostgreSQL.

A process that exits on its own (web, worker, beat, the local Triton server, and the
embedded PostgreSQL and Redis when this launcher started them) is restarted with
backoff (1 s doubling to 30 s) and a log line; the others keep serving. `/readyz` and
the console's operations page show a process restarting in a loop.

Environment: WEFT_HOST / WEFT_PORT (default 127.0.0.1:8000), WEFT_WEB_WORKERS,
WEFT_WORKER_CONCURRENCY, WEFT_IO_CONCURRENCY / WEFT_IO_PER_HOST (the caps of the calls each
worker child keeps in flight on its event loop, apps.runs.io_executor), DATABASE_URL / REDIS_URL (skip the embedded servers),
TRITON_URL (skip the local Triton server and register that one as "local" instead),
WEFT_TRITON_HTTP_PORT / WEFT_TRITON_GRPC_PORT / WEFT_TRITON_METRICS_PORT (default
8010 / 8011 / 8012: the local Triton server with the demo models), WEFT_VAR_DIR
(where the embedded data, the supervisor's files and its state live; default var/).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import threading
import time

from config import embedded, supervision
from config.paths import VAR_DIR
from config.supervision import Program

PY = sys.executable
APP_PROCESSES = ("web", "worker", "beat")
# A worker process for nodes that wait on the network as compose.yaml runs it (queue
# io): a few delivery threads that claim nodes and hand their calls to its event loop
# (apps.runs.io_executor); WEFT_IO_CONCURRENCY calls in flight, not a thread each.
# `make run`'s one worker does the same in each of its prefork children.
IO_WORKER_OPTIONS = ["--pool", "threads", "--concurrency", "4"]


def _manage(*args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run([PY, "manage.py", *args], check=True, env=env)


def _triton_ports() -> tuple[int, int, int]:
    return (int(os.environ.get("WEFT_TRITON_HTTP_PORT", "8010")),
            int(os.environ.get("WEFT_TRITON_GRPC_PORT", "8011")),
            int(os.environ.get("WEFT_TRITON_METRICS_PORT", "8012")))


def _triton_program(token: str) -> Program:
    """The local Triton server with the demo models (PyTriton)."""
    from apps.inference.constants import TOKEN_ENV

    http, grpc, metrics = _triton_ports()
    return Program("triton", [PY, "-m", "apps.inference.server", "--http-port", str(http),
                              "--grpc-port", str(grpc), "--metrics-port", str(metrics)],
                   priority=200, stop_wait_s=20, environment={TOKEN_ENV: token},
                   log_file=str(supervision.DIR / "triton.log"))


def _triton_register(token: str | None) -> None:
    """Register TRITON_URL, or the local server once it is ready, as Triton server "local"."""
    if token is None:
        _manage("weft_register_triton", "--name", "local")
        return
    from apps.inference.client import Connection, TritonClient, auth_headers
    from apps.inference.constants import DEMO_MODEL_NAMES, LOOPBACK, TOKEN_ENV

    http, grpc, _ = _triton_ports()
    connection = Connection.create(f"{LOOPBACK}:{http}", "http", auth_headers("http", token),
                                   models=DEMO_MODEL_NAMES)
    deadline = time.monotonic() + 120
    with TritonClient(connection, timeout_s=2.0) as client:
        while not (client.is_server_ready() and all(m.ready for m in client.list_models())):
            if time.monotonic() > deadline:
                print("  triton | the local Triton server was not ready after 120 s; "
                      "inference nodes fail until it runs; see "
                      f"{supervision.DIR / 'triton.log'}", flush=True)
                return
            time.sleep(0.25)
    print(f"  triton | ready: http {LOOPBACK}:{http}, grpc {LOOPBACK}:{grpc} "
          f"({', '.join(DEMO_MODEL_NAMES)}); its log: {supervision.DIR / 'triton.log'}",
          flush=True)
    _manage("weft_register_triton", "--name", "local", "--url", f"{LOOPBACK}:{http}",
            "--protocol", "http", "--models", ",".join(DEMO_MODEL_NAMES),
            env={**os.environ, TOKEN_ENV: token})


def processes() -> dict[str, list[str]]:
    host = os.environ.get("WEFT_HOST", "127.0.0.1")
    port = os.environ.get("WEFT_PORT", "8000")
    concurrency = os.environ.get("WEFT_WORKER_CONCURRENCY", "2")
    return {
        "web": [PY, "-m", "uvicorn", "config.asgi:application", "--host", host, "--port", port,
                "--workers", os.environ.get("WEFT_WEB_WORKERS", "1"), "--no-access-log",
                "--lifespan", "off"],
        "worker": [PY, "-m", "celery", "-A", "celery_worker", "worker", "--loglevel", "INFO",
                   "-Q", "default,io,inference,maintenance", "--concurrency", concurrency,
                   "--without-gossip", "--without-mingle"],
        "beat": [PY, "-m", "celery", "-A", "celery_worker", "beat", "--loglevel", "INFO",
                 "--schedule", str(VAR_DIR / "celerybeat-schedule")],
    }


def programs(*, postgres: list[str] | None, redis: list[str] | None,
             triton_token: str | None) -> list[Program]:
    """Everything supervisord runs. Priorities: start low first, stop high first."""
    listed = []
    if postgres:
        listed.append(Program("postgres", postgres, priority=100, stop_signal="INT",
                              stop_wait_s=30, user=embedded.postgres_user()))
    if redis:
        listed.append(Program("redis", redis, priority=100, stop_wait_s=15))
    if triton_token:
        listed.append(_triton_program(triton_token))
    commands = processes()
    listed += [
        Program("worker", commands["worker"], priority=300, autostart=False, stop_wait_s=20),
        Program("beat", commands["beat"], priority=300, autostart=False),
        Program("web", commands["web"], priority=400, autostart=False),
    ]
    return listed


def _start_supervisor(conf) -> subprocess.Popen:
    supervision.STATE_FILE.unlink(missing_ok=True)
    proc = subprocess.Popen([PY, "-m", "config.supervision", "supervisord", str(conf)],
                            env={**os.environ, "PYTHONUNBUFFERED": "1"},
                            start_new_session=True)
    deadline = time.monotonic() + 20
    while True:
        with contextlib.suppress(Exception):
            supervision.rpc().supervisor.getState()
            return proc
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("supervisord did not start")
        time.sleep(0.1)


def _stop_supervisor(proc: subprocess.Popen) -> None:
    """SIGTERM: supervisord stops its programs in order (each process group with
    its stop signal, then SIGKILL after its timeout) and exits."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    supervision.STATE_FILE.unlink(missing_ok=True)


def main() -> int:
    # Supervise (and stop on exit) only the embedded servers this launcher starts itself.
    ours = {"postgres": not os.environ.get("DATABASE_URL") and not embedded.postgres_running(),
            "redis": not os.environ.get("REDIS_URL") and not embedded.redis_running()}
    (VAR_DIR / "staticfiles").mkdir(parents=True, exist_ok=True)
    postgres_cmd = redis_cmd = None
    if ours["postgres"]:
        database_url, postgres_cmd = embedded.postgres_prepare()
    else:
        database_url = os.environ.get("DATABASE_URL") or embedded.postgres_up()
    if ours["redis"]:
        redis_url, redis_cmd = embedded.redis_prepare()
    else:
        redis_url = os.environ.get("REDIS_URL") or embedded.redis_up()
    os.environ.setdefault("DATABASE_URL", database_url)
    os.environ.setdefault("REDIS_URL", redis_url)
    # The demo's accounting endpoint (apps.templates.services) is this machine's web
    # server: let the HTTP node reach loopback here, unless configured otherwise.
    os.environ.setdefault("WEFT_HTTP_ALLOW_HOSTS", "127.0.0.1/32")
    print(f"database: {database_url}\nredis:    {redis_url}", flush=True)
    triton_token = None if os.environ.get("TRITON_URL") else secrets.token_urlsafe(24)

    stopping = threading.Event()
    serving = threading.Event()

    def stop(*_):
        stopping.set()
        if not serving.is_set():
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    conf = supervision.write_config(programs(postgres=postgres_cmd, redis=redis_cmd,
                                             triton_token=triton_token))
    supervisor = _start_supervisor(conf)  # PostgreSQL, Redis and Triton start now
    try:
        if postgres_cmd:
            embedded.wait_postgres(database_url)
        if redis_cmd:
            embedded.wait_redis(int(redis_url.rsplit(":", 1)[1]))
        _manage("migrate", "--no-input", "-v", "0")
        _manage("weft_ensure_admin")
        _triton_register(triton_token)
        _manage("weft_seed_demo")
        rpc = supervision.rpc()
        for name in ("worker", "beat", "web"):
            rpc.supervisor.startProcess(name, False)
        serving.set()
        host = os.environ.get("WEFT_HOST", "127.0.0.1")
        print(f"\n  Weft is starting on http://{host}:{os.environ.get('WEFT_PORT', '8000')}/ "
              "— press Ctrl-C to stop.\n", flush=True)
        code = 0
        while not stopping.wait(0.5):
            if supervisor.poll() is not None:
                print(f"supervisord exited with code {supervisor.returncode}; stopping.",
                      flush=True)
                code = supervisor.returncode or 1
                break
    except KeyboardInterrupt:
        code = 130
    finally:
        serving.set()  # a second signal no longer interrupts the shutdown
        print("Stopping Weft: web, then worker and beat, Triton, Redis and PostgreSQL.",
              flush=True)
        _stop_supervisor(supervisor)
        print("Weft stopped.", flush=True)
    return code if not stopping.is_set() else 0


if __name__ == "__main__":
    sys.exit(main())
