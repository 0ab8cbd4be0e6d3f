"""Fixtures of the model-oversight tests: the session's real Triton server (PyTriton,
demo models) registered over HTTP, and flows that call its models."""

from __future__ import annotations

import pytest

from apps.inference.client import auth_headers


@pytest.fixture(autouse=True)
def _no_records_of_earlier_tests():
    """Calls that tests of other areas made in this process stay buffered (no thread
    writes them here): each test starts without them."""
    from apps.oversight.recording import model_calls_discard

    model_calls_discard()


@pytest.fixture
def model_server(triton, create_triton_server):
    return create_triton_server(name="models", url=f"127.0.0.1:{triton.http_port}",
                                protocol="http",
                                secret_headers=auth_headers("http", triton.access_token),
                                model_names=list(triton.models))


def classify_flow(server: str, *, inputs: dict | None = None, shadow: dict | None = None,
                  model: str = "ticket_urgency") -> dict:
    from tests.fixtures.runs import flow

    config = {"server": server, "model": model, "inputs": inputs or {"text": "input.texts"}}
    if shadow:
        config["shadow"] = shadow
    return flow(("start", "trigger.manual"), ("classify", "inference.triton", config),
                edges=[("start", "classify")])


@pytest.fixture(scope="module")
def oversight_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real worker (and beat) whose model-oversight schedules wait an hour, so that
    the test decides when the roll-up and the checks run (by sending their tasks)."""
    from tests.fixtures.runs import _worker_running

    yield from _worker_running(
        tmp_path_factory.mktemp("oversight-worker"),
        env={"WEFT_MODEL_ROLLUP_EVERY": "3600", "WEFT_MODEL_CHECK_EVERY": "3600",
             "WEFT_MODEL_ROLLUP_SETTLE_S": "0", "WEFT_HTTP_ALLOW_HOSTS": "127.0.0.1/32"})


def wait_for(check, *, timeout: float = 60.0, what: str = ""):
    """Poll `check()` until it gives something true (a liveness bound, not a timing)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.2)


def invoice_flow(server: str, *, shadow: dict | None = None) -> dict:
    return classify_flow(server, model="invoice_risk", inputs={"features": "input.features"},
                         shadow=shadow)
