"""In the browser (Chromium): an admin adds a Triton server on its console page, sees its
models with their readiness, and tries one. It sits here, not in tests/e2e, because
the Triton server these tests share is this folder's session fixture."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from apps.inference.client import auth_headers
from tests.e2e.conftest import _wide_viewport, csp_watch, screenshot  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_add_a_triton_server_and_try_a_model(
        signed_in_page, live_web, triton, screenshot, csp_watch):  # noqa: F811 (imported)
    page, _ = signed_in_page(roles=["admin"])
    header, token = next(iter(auth_headers("http", triton.access_token).items()))
    page.goto(f"{live_web.url}/console/triton/")
    expect(page.get_by_text("No Triton server yet.")).to_be_visible()
    form = page.get_by_role("region", name="Add a server")
    form.get_by_label("Name").fill("lab")
    form.get_by_label("URL").fill(f"127.0.0.1:{triton.http_port}")
    form.get_by_label("Protocol").select_option("http")
    form.get_by_label("Models to look for").fill("\n".join(triton.models))
    form.get_by_label("Secret headers").fill(f"{header}: {token}")
    screenshot("new-server")
    form.get_by_role("button", name="Add server").click()

    expect(page.get_by_text("Triton server lab was added.")).to_be_visible()
    expect(page.get_by_role("heading", name="Triton server lab")).to_be_visible()
    connection = page.get_by_role("region", name="Connection")
    expect(connection.get_by_role("status")).to_have_text("✓ Connected: 3 models.",
                                                          timeout=15_000)
    expect(connection.get_by_role("row", name="ticket_urgency")).to_contain_text("ready")
    assert token not in page.content()
    screenshot("server-models")

    connection.get_by_role("row", name="ticket_urgency").get_by_role(
        "link", name="Inputs and outputs").click()
    trial = page.get_by_role("region", name="Try a model")
    expect(trial).to_contain_text("ticket_urgency")
    trial.get_by_label("Model").fill("ticket_urgency")
    trial.get_by_label("Inputs (JSON)").fill(json.dumps({"text": "Production is down!"}))
    trial.get_by_role("button", name="Run the model").click()
    result = page.get_by_label("Result")
    expect(result).to_contain_text('"label"', timeout=15_000)
    assert json.loads(result.inner_text())["label"] in {"high", "critical"}
    screenshot("model-tried")
    assert csp_watch() == []
