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
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

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
# How long the launcher waits for the web server's first answer (a busy machine took
# 75 s), how often it asks, and how often it says it is still waiting.
READY_TIMEOUT_S = 600.0
READY_POLL_S = 0.5
READY_PROGRESS_S = 10.0


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


def _readyz(url: str, timeout_s: float) -> dict | None:
    """/readyz's body once the web server answers (200, or 503 naming what is down);
    None while nothing answers (refused, reset, timed out)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:  # it answers; something it needs is down
        with contextlib.suppress(ValueError):
            return json.loads(exc.read() or b"{}")
        return {"status": f"HTTP {exc.code}", "down": []}
    except (OSError, ValueError):
        return None


def web_wait(base_url: str, *, state_file: Path, timeout_s: float = READY_TIMEOUT_S,
             poll_s: float = READY_POLL_S, progress_s: float = READY_PROGRESS_S,
             alive: Callable[[], bool] = lambda: True,
             say: Callable[[str], None] = print) -> dict | None:
    """Ask `base_url`/readyz every `poll_s` until the web server answers, and return the
    answer's body. Meanwhile say every `progress_s` that it is still waiting, and name
    each supervised process (config/supervision.py's state file) that exits. None, with
    the reason said, when the web server exited `LOOP_FAILURES` times in a row before
    answering, when supervisord is gone (`alive`), or after `timeout_s`."""
    url = f"{base_url.rstrip('/')}/readyz"
    started, since = time.monotonic(), time.time()
    reported: dict[str, float] = {}  # name -> the time of its last exit already said
    next_progress = started + progress_s
    while True:
        body = _readyz(url, timeout_s=max(poll_s, 2.0))
        if body is not None:
            return body
        for name, info in supervision.read_state(state_file).get("processes", {}).items():
            last = max(info.get("exits") or [0])
            if last <= max(since, reported.get(name, 0)):
                continue
            reported[name] = last
            say(f"  launch | error: {name} {info.get('last_exit') or 'exited'} before the "
                "web server answered; its output is above.")
            if name == "web" and int(info.get("failures", 0)) >= supervision.LOOP_FAILURES:
                say(f"  launch | error: the web server exited {info['failures']} times in a "
                    "row without answering; stopping.")
                return None
        if not alive():
            say("  launch | error: supervisord exited before the web server answered.")
            return None
        now = time.monotonic()
        if now - started >= timeout_s:
            say(f"  launch | error: the web server did not answer {url} within "
                f"{timeout_s:.0f} s; its output is above.")
            return None
        if now >= next_progress:
            say(f"  launch | waiting for the web server on {base_url} ({now - started:.0f} s)…")
            next_progress += progress_s
        time.sleep(poll_s)


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
        # SIGTERM to Celery's main process only, whose warm shutdown lets each prefork
        # child finish its task and its calls in flight (WEFT_IO_DRAIN_S) before it
        # goes; a child sent SIGTERM itself dies at once (Celery resets the signal).
        Program("worker", commands["worker"], priority=300, autostart=False,
                stop_wait_s=30, stop_as_group=False),
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
        # Its sign-in (the first admin's password, shown once) is printed with the ready
        # line, not a minute of start-up output earlier.
        sign_in = subprocess.run([PY, "manage.py", "weft_ensure_admin"], check=True,
                                 stdout=subprocess.PIPE, text=True).stdout.strip("\n")
        _triton_register(triton_token)
        _manage("weft_seed_demo")
        rpc = supervision.rpc()
        for name in ("worker", "beat", "web"):
            rpc.supervisor.startProcess(name, False)
        base_url = (f"http://{os.environ.get('WEFT_HOST', '127.0.0.1')}:"
                    f"{os.environ.get('WEFT_PORT', '8000')}/")
        print(f"  launch | web, worker and beat started; waiting for the web server on "
              f"{base_url}…", flush=True)
        ready = web_wait(base_url, state_file=supervision.STATE_FILE,
                         alive=lambda: supervisor.poll() is None,
                         say=lambda line: print(line, flush=True))
        if ready is None:
            print(f"\n{sign_in}\n", flush=True)
            return 1
        serving.set()
        down = ", ".join(ready.get("down") or [])
        print(f"\n  Weft is ready on {base_url} — press Ctrl-C to stop.\n{sign_in}\n"
              + (f"  Not everything is up yet: /readyz reports {down} down (the console's "
                 "operations page shows why).\n" if down else ""), flush=True)
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
