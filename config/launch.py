"""`make run`: start embedded services, prepare the database, then run the web
server, a Celery worker and Celery beat (plus anything in WEFT_EXTRA_PROCESSES)
until Ctrl-C, which stops every process this launcher started.

Environment: WEFT_HOST / WEFT_PORT (default 127.0.0.1:8000), WEFT_WEB_WORKERS,
WEFT_WORKER_CONCURRENCY, DATABASE_URL / REDIS_URL (skip the embedded servers),
TRITON_URL (skip the local Triton server and register that one as "local" instead),
WEFT_TRITON_HTTP_PORT / WEFT_TRITON_GRPC_PORT / WEFT_TRITON_METRICS_PORT (default
8010 / 8011 / 8012: the local Triton server with the demo models).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

from config import embedded

PY = sys.executable


def _stream(name: str, proc: subprocess.Popen) -> None:
    assert proc.stdout is not None
    for line in iter(proc.stdout.readline, b""):
        sys.stdout.write(f"{name:>7} | {line.decode(errors='replace')}")
        sys.stdout.flush()


def _manage(*args: str) -> None:
    subprocess.run([PY, "manage.py", *args], check=True)


def _triton_spawn():
    """The local Triton server with the demo models (PyTriton), unless TRITON_URL is set."""
    if os.environ.get("TRITON_URL"):
        return None
    from apps.inference.launcher import TritonProcess

    return TritonProcess.spawn(
        http_port=int(os.environ.get("WEFT_TRITON_HTTP_PORT", "8010")),
        grpc_port=int(os.environ.get("WEFT_TRITON_GRPC_PORT", "8011")),
        metrics_port=int(os.environ.get("WEFT_TRITON_METRICS_PORT", "8012")),
    )


def _triton_register(triton) -> None:
    """Register TRITON_URL, or the local server once it is ready, as Triton server "local"."""
    if triton is None:
        if os.environ.get("TRITON_URL"):
            _manage("weft_register_triton", "--name", "local")
        return
    from apps.inference.constants import LOOPBACK, TOKEN_ENV
    from apps.inference.launcher import TritonStartError

    try:
        triton.wait_ready(120)
    except TritonStartError as exc:
        print(f"  triton | the local Triton server did not start; inference nodes will "
              f"fail until it runs:\n{exc}", flush=True)
        return
    print(f"  triton | ready: http {LOOPBACK}:{triton.http_port}, grpc {LOOPBACK}:"
          f"{triton.grpc_port} ({', '.join(triton.models)})", flush=True)
    subprocess.run([PY, "manage.py", "weft_register_triton", "--name", "local",
                    "--url", f"{LOOPBACK}:{triton.http_port}", "--protocol", "http",
                    "--models", ",".join(triton.models)],
                   check=True, env={**os.environ, TOKEN_ENV: triton.access_token})


def processes() -> dict[str, list[str]]:
    host = os.environ.get("WEFT_HOST", "127.0.0.1")
    port = os.environ.get("WEFT_PORT", "8000")
    concurrency = os.environ.get("WEFT_WORKER_CONCURRENCY", "2")
    procs = {
        "web": [PY, "-m", "uvicorn", "config.asgi:application", "--host", host, "--port", port,
                "--workers", os.environ.get("WEFT_WEB_WORKERS", "1"), "--no-access-log", "--lifespan", "off"],
        "worker": [PY, "-m", "celery", "-A", "celery_worker", "worker", "--loglevel", "INFO",
                   "-Q", "default,io,inference,maintenance", "--concurrency", concurrency,
                   "--without-gossip", "--without-mingle"],
        "beat": [PY, "-m", "celery", "-A", "celery_worker", "beat", "--loglevel", "INFO",
                 "--schedule", str(embedded.VAR_DIR / "celerybeat-schedule")],
    }
    return procs


def main() -> int:
    # Stop on exit only what this launcher started itself.
    ours = {"postgres": not os.environ.get("DATABASE_URL") and not embedded.postgres_running(),
            "redis": not os.environ.get("REDIS_URL") and not embedded.redis_running()}
    urls = embedded.up()
    os.environ.setdefault("DATABASE_URL", urls["database_url"])
    os.environ.setdefault("REDIS_URL", urls["redis_url"])
    print(f"database: {urls['database_url']}\nredis:    {urls['redis_url']}")
    triton = _triton_spawn()  # starts while the database migrates
    try:
        _manage("migrate", "--no-input", "-v", "0")
        _manage("weft_ensure_admin")
        _triton_register(triton)
        _manage("weft_seed_demo")
    except BaseException:
        if triton is not None:
            triton.stop()
        raise
    started: dict[str, subprocess.Popen] = {}
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name, cmd in processes().items():
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
        started[name] = proc
        threading.Thread(target=_stream, args=(name, proc), daemon=True).start()
    host = os.environ.get("WEFT_HOST", "127.0.0.1")
    print(f"\n  Weft is starting on http://{host}:{os.environ.get('WEFT_PORT', '8000')}/ "
          "— press Ctrl-C to stop.\n", flush=True)

    stopping = threading.Event()

    def stop(*_):
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    while not stopping.is_set():
        for name, proc in started.items():
            if proc.poll() is not None:
                print(f"{name} exited with code {proc.returncode}; stopping everything.")
                code = proc.returncode or 1
                stopping.set()
                break
        stopping.wait(0.5)

    for proc in started.values():
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for proc in started.values():
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    if triton is not None:
        triton.stop()
    if ours["postgres"]:
        embedded.postgres_down()
    if ours["redis"]:
        embedded.redis_down()
    print("Weft stopped.")
    return code


if __name__ == "__main__":
    sys.exit(main())
