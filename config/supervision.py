"""Supervision for `make run`: supervisord runs every process the launcher starts.

supervisord (the `supervisor` package) spawns the processes, each in its own process
group, streams their output to the terminal, reaps them, and on Ctrl-C / SIGTERM stops
them in order of priority (highest first: web, then worker and beat, Triton, then
Redis and PostgreSQL), a process group at a time, killing a group that outlives its
stop timeout. Its own restart rule is linear and gives up ("FATAL") after a few quick
failures, so the programs are configured with `autorestart=false, startretries=0` and
the event listener below (`python -m config.supervision listen`, run by supervisord)
restarts every process that exits on its own:

- after 1 s, doubling up to 30 s while it keeps failing; back to 1 s once it has
  stayed up `STABLE_AFTER_S`;
- with a log line, after killing what its process group left behind (a Celery
  worker's pool children, Triton's server binary, PostgreSQL's backends);
- and records each process (state, pid, restarts, recent exits) in
  `var/supervisor/state.json`, which `/readyz` and the console's operations page read.

A process stopped on purpose (`supervisorctl stop`, shutdown) is not restarted.

Why supervisord: it installs from PyPI into the virtual environment, runs as root
(here) or not, spawns each child in its own process group and can signal and kill the
whole group, stops programs in priority order waiting for each, sends children's output
to the terminal, runs processes as another user (PostgreSQL as `pgserver`), and has
an event protocol and an XML-RPC interface for exactly this kind of policy. honcho
(Procfile runner) stops everything when one process exits, as the old launcher did;
circus would also do, but respawns at once (its flapping plugin only pauses a watcher
after too many), and brings ZeroMQ and tornado along.
supervisord is started as a child subreaper (`python -m config.supervision
supervisord CONF`), so whatever a dead process orphans is reaped by it, never left
defunct.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shlex
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config.paths import BASE_DIR, VAR_DIR

DIR = VAR_DIR / "supervisor"
STATE_FILE = DIR / "state.json"
CONF_FILE = DIR / "supervisord.conf"
SOCKET = DIR / "supervisor.sock"
LISTENER = "supervise"

BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 30.0
STABLE_AFTER_S = 60.0
LOOP_FAILURES = 3  # quick exits in a row that make a process "restarting in a loop"
RECENT_EXITS_S = 600.0


def backoff_s(failures: int) -> float:
    """Delay before the restart that follows `failures` quick exits in a row (1 or more)."""
    return min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** max(0, failures - 1))


# --- the state file (written by the listener, read by /readyz and the console) ---------

def read_state(path: Path | None = None) -> dict[str, Any]:
    try:
        return json.loads((path or STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}


def _write_state(state: dict[str, Any], path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
    tmp.replace(path)


def summarize(info: dict[str, Any], *, now: float) -> dict[str, Any]:
    """One process as /readyz and the console show it: `health` in words, and `down`
    when it is not running (waiting for its restart, stopped) or restarting in a loop."""
    state = info.get("state", "UNKNOWN")
    failures = int(info.get("failures", 0))
    exits = [t for t in info.get("exits", []) if now - t <= RECENT_EXITS_S]
    # Up for STABLE_AFTER_S since its last exit: no longer in a loop (the listener
    # resets the count at the next exit).
    stable = state == "RUNNING" and bool(info.get("since")) and \
        now - info["since"] >= STABLE_AFTER_S
    looping = failures >= LOOP_FAILURES and state != "STOPPED" and not stable
    running = state in ("RUNNING", "STARTING")
    if looping:
        health = (f"restarting in a loop: exited {failures} times in a row"
                  f"{'; last: ' + info['last_exit'] if info.get('last_exit') else ''}")
        if info.get("next_start_at") and not running:
            health += f"; next start in {max(0, info['next_start_at'] - now):.0f} s"
    elif running:
        health = "running" if state == "RUNNING" else "starting"
        if exits:
            health += f" (restarted after {len(exits)} exit{'s' if len(exits) > 1 else ''} " \
                      "in the last 10 minutes)"
    elif state == "STOPPED":
        health = "stopped"
    else:
        health = f"down ({state.lower()}), restart pending"
    return {"state": state, "health": health, "down": looping or not running,
            "pid": info.get("pid"), "restarts": int(info.get("restarts", 0)),
            "recent_exits": len(exits), "last_exit": info.get("last_exit", ""),
            "since": info.get("since")}


# --- the configuration -------------------------------------------------------------------

@dataclass
class Program:
    name: str
    command: list[str]
    priority: int  # start order (low first); stop order is the reverse
    autostart: bool = True
    stop_signal: str = "TERM"
    stop_wait_s: int = 10
    # The stop signal to the program's whole process group (its children too); SIGKILL
    # after stop_wait_s always goes to the group.
    stop_as_group: bool = True
    user: str = ""
    log_file: str = ""  # its output goes to this file instead of the terminal
    environment: dict[str, str] = field(default_factory=dict)


def _value(text: str) -> str:
    return str(text).replace("%", "%%")  # supervisord expands %(...)s in every value


def write_config(programs: list[Program], *, directory: Path = DIR) -> Path:
    """supervisord.conf for `programs` under `directory` (mode 0600: it may hold a token)."""
    directory.mkdir(parents=True, exist_ok=True)
    conf = directory / "supervisord.conf"
    sock = directory / "supervisor.sock"
    lines = [
        # In the foreground supervisord also prints its log (spawned, exited...) to stdout.
        "[supervisord]", "nodaemon=true", f"logfile={_value(directory / 'supervisord.log')}",
        "logfile_maxbytes=5MB", "logfile_backups=1", "loglevel=info", f"pidfile={_value(directory / 'supervisord.pid')}",
        f"childlogdir={_value(directory)}", f"directory={_value(BASE_DIR)}",
        *(["user=root"] if os.geteuid() == 0 else []),
        "", "[unix_http_server]", f"file={_value(sock)}", "chmod=0700",
        "", "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "", "[supervisorctl]", f"serverurl=unix://{_value(sock)}",
        "", f"[eventlistener:{LISTENER}]",
        f"command={_value(shlex.join([sys.executable, '-m', 'config.supervision', 'listen', str(directory / 'state.json')]))}",
        "events=PROCESS_STATE", "priority=1", "autorestart=true", "startsecs=0",
        "stderr_logfile=/dev/stdout", "stderr_logfile_maxbytes=0",
    ]
    for program in programs:
        lines += [
            "", f"[program:{program.name}]",
            f"command={_value(shlex.join(program.command))}",
            f"priority={program.priority}",
            f"autostart={'true' if program.autostart else 'false'}",
            "autorestart=false", "startretries=0", "startsecs=1",
            f"stopsignal={program.stop_signal}", f"stopwaitsecs={program.stop_wait_s}",
            f"stopasgroup={'true' if program.stop_as_group else 'false'}", "killasgroup=true",
            "redirect_stderr=true",
            *([f"stdout_logfile={_value(program.log_file)}", "stdout_logfile_maxbytes=10MB",
               "stdout_logfile_backups=1"] if program.log_file else
              ["stdout_logfile=/dev/stdout", "stdout_logfile_maxbytes=0"]),
        ]
        if program.user:
            lines.append(f"user={program.user}")
        if program.environment:
            env = ",".join(f'{key}="{_value(val)}"' for key, val in program.environment.items())
            lines.append(f"environment={env}")
    fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    return conf


def rpc(directory: Path = DIR):
    """An XML-RPC proxy to the supervisord of `directory` (supervisor's own client)."""
    from supervisor import childutils

    return childutils.getRPCInterface(
        {"SUPERVISOR_SERVER_URL": f"unix://{directory / 'supervisor.sock'}"})


# --- supervisord as a child subreaper ----------------------------------------------------

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


def exec_supervisord(conf: str) -> None:
    """Become a child subreaper and exec supervisord (both settings are kept across
    exec): processes orphaned by a dead child are re-parented to it, and its reaping
    loop collects them; and if the launcher itself is killed, supervisord gets SIGTERM
    and stops everything rather than running on unattended."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    os.execv(sys.executable, [sys.executable, "-m", "supervisor.supervisord", "-c", conf])


# --- the event listener --------------------------------------------------------------------

class Listener:
    """Restarts processes that exited on their own, with backoff; records their state."""

    def __init__(self, state_file: Path) -> None:
        self.state_file = state_file
        self.lock = threading.Lock()
        self.timers: dict[str, threading.Timer] = {}
        self.state: dict[str, Any] = {"supervisord_pid": os.getppid(), "processes": {}}
        with self.lock:
            self._save()

    def log(self, message: str) -> None:
        sys.stderr.write(f"{time.strftime('%H:%M:%S')} supervise | {message}\n")
        sys.stderr.flush()

    def _save(self) -> None:
        self.state["updated_at"] = time.time()
        _write_state(self.state, self.state_file)

    def handle(self, event: str, headers: dict[str, str]) -> None:
        name = headers.get("processname", "")
        if not name or name == LISTENER:
            return
        state = event.removeprefix("PROCESS_STATE_")
        now = time.time()
        with self.lock:
            info = self.state["processes"].setdefault(
                name, {"restarts": 0, "failures": 0, "exits": []})
            info["state"] = state
            if state == "RUNNING":
                info["pid"] = int(headers.get("pid", 0)) or None
                info["since"] = now
                info["next_start_at"] = None
            elif state in ("EXITED", "FATAL"):
                self._exited(name, info, headers, now)
            elif state in ("STOPPING", "STOPPED"):
                timer = self.timers.pop(name, None)
                if timer:
                    timer.cancel()
                info["next_start_at"] = None
            self._save()

    def _exited(self, name: str, info: dict[str, Any], headers: dict[str, str],
                now: float) -> None:
        pid = int(headers.get("pid", 0) or 0)
        if pid > 1:  # what the dead process's group left behind (its own group: setpgrp)
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
        stable = info.get("since") and now - info["since"] >= STABLE_AFTER_S
        info["failures"] = 1 if stable else int(info.get("failures", 0)) + 1
        info["exits"] = [t for t in info.get("exits", []) if now - t <= RECENT_EXITS_S] + [now]
        info["last_exit"] = self._exit_description(name, headers)
        info["pid"] = None
        info["since"] = None
        delay = backoff_s(info["failures"])
        info["next_start_at"] = now + delay
        self.log(f"{name} {info['last_exit']}; restarting in {delay:g} s "
                 f"({info['failures']} exit{'s' if info['failures'] > 1 else ''} in a row)")
        timer = threading.Timer(delay, self._restart, args=(name,))
        timer.daemon = True
        old = self.timers.pop(name, None)
        if old:
            old.cancel()
        self.timers[name] = timer
        timer.start()

    def _exit_description(self, name: str, headers: dict[str, str]) -> str:
        if headers.get("from_state") in ("STARTING", "BACKOFF"):
            return "exited while starting"
        try:
            status = rpc(self.state_file.parent).supervisor.getProcessInfo(name)["exitstatus"]
        except Exception:  # noqa: BLE001 - the status is only a detail of the log line
            status = -1
        # supervisord reports -1 for a process killed by a signal (its log names the signal)
        return f"exited unexpectedly (exit status {status})" if status >= 0 \
            else "exited unexpectedly (killed by a signal)"

    def _restart(self, name: str) -> None:
        with self.lock:
            self.timers.pop(name, None)
            info = self.state["processes"].get(name, {})
            if info.get("state") not in ("EXITED", "FATAL"):
                return
            info["restarts"] = int(info.get("restarts", 0)) + 1
            self._save()
        try:
            rpc(self.state_file.parent).supervisor.startProcess(name, False)
        except Exception as exc:  # noqa: BLE001 - shutting down, or already started
            self.log(f"could not restart {name}: {exc}")


def listen(state_file: Path) -> None:
    from supervisor import childutils

    listener = Listener(state_file)
    while True:
        headers, payload = childutils.listener.wait(sys.stdin, sys.stdout)
        try:
            listener.handle(headers["eventname"], childutils.get_headers(payload))
        except Exception as exc:  # noqa: BLE001 - never stop acknowledging events
            listener.log(f"event {headers.get('eventname')} not handled: {exc!r}")
        childutils.listener.ok(sys.stdout)


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[1] == "listen":
        listen(Path(argv[2]))
    elif len(argv) >= 3 and argv[1] == "supervisord":
        exec_supervisord(argv[2])
    else:
        print("usage: python -m config.supervision listen STATE_FILE | supervisord CONF")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
