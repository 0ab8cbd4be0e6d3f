"""compose.yaml's health checks for the worker and beat, run as the plain commands
compose would run in their containers (no Docker daemon here: STACK-NOTES.md)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

COMPOSE = Path(__file__).resolve().parents[2] / "compose.yaml"


def _healthcheck(service: str) -> str:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    kind, command = services[service]["healthcheck"]["test"]
    assert kind == "CMD-SHELL"
    return command.replace("$$", "$")  # compose's escape for a literal $


def _run(command: str, env: dict) -> int:
    return subprocess.run(["sh", "-c", command], env=env, capture_output=True,
                          timeout=60).returncode


def test_worker_healthcheck_pings_its_own_node(celery_worker_process):
    worker = celery_worker_process
    # As in the image, `celery` is on PATH (here: the virtual environment's bin folder).
    env = {**worker.env, "HOSTNAME": socket.gethostname(),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{worker.env.get('PATH', '')}"}
    check = _healthcheck("worker-default")
    assert check == _healthcheck("worker-io") == _healthcheck("worker-inference")
    # The test worker's node is test<port>@<host> rather than compose's celery@<host>.
    assert _run(check.replace("celery@", f"test{worker.port}@"), env) == 0
    assert _run(check.replace("celery@", "gone@"), env) != 0


def test_beat_healthcheck_sees_its_ticks(celery_worker_process, tmp_path):
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    liveness = services["beat"]["environment"]["WEFT_BEAT_LIVENESS_FILE"]
    check = _healthcheck("beat").replace(liveness, str(tmp_path / "beat-alive"))
    env = {**celery_worker_process.env, "WEFT_BEAT_LIVENESS_FILE": str(tmp_path / "beat-alive")}
    assert _run(check, env) != 0  # no beat yet
    command = [sys.executable if part == "celery" else part
               for part in services["beat"]["command"]]
    command[1:1] = ["-m", "celery"]
    command[command.index("/tmp/celerybeat-schedule")] = str(tmp_path / "schedule")
    beat = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while _run(check, env) != 0:
            assert time.monotonic() < deadline, "beat's liveness file was not touched"
            assert beat.poll() is None, "beat exited"
            time.sleep(1)
    finally:
        beat.terminate()
        beat.wait(30)
