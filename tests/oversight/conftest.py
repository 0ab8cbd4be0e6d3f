"""Fixtures of the model-oversight tests: the session's real Triton server (PyTriton,
demo models) registered over HTTP, and flows that call its models."""

from __future__ import annotations

import pytest

from apps.inference.client import auth_headers
from tests.inference.conftest import triton  # noqa: F401 - the session's Triton server


@pytest.fixture
def model_server(triton, create_triton_server):  # noqa: F811
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
