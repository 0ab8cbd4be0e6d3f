"""The console's Triton pages against a real Triton server (PyTriton, demo models):
an admin adds a server with its access token, the page lists its models with their
readiness, and an editor tries a model."""

from __future__ import annotations

import json

import pytest

from apps.inference.client import auth_headers
from apps.inference.models import TritonServer

pytestmark = pytest.mark.django_db


def test_an_admin_adds_a_server_and_sees_its_models(browser_for, triton, audit_since):
    admin = browser_for("admin")
    header, token = next(iter(auth_headers("http", triton.access_token).items()))
    added = admin.post("/console/triton/", {
        "name": "lab", "url": f"127.0.0.1:{triton.http_port}", "protocol": "http",
        "timeout_s": "5", "models": "\n".join(triton.models),
        "secret_headers": f"{header}: {token}", "tls_verify": "on", "is_active": "on"})
    assert added.status_code == 302, added.context and added.context["form"].errors
    server = TritonServer.objects.get(name="lab")
    assert server.secret_header_names == [header]
    page = admin.get(f"/console/triton/{server.pk}/")
    assert page.context["error"] == ""
    assert {m.name for m in page.context["models"]} == {"ticket_urgency", "invoice_risk", "echo"}
    assert b"Connected: 3 models" in page.content
    assert token.encode() not in page.content
    assert audit_since(action="triton_server.create")


def test_bad_server_input_is_refused_with_the_apis_rules(browser_for):
    admin = browser_for("admin")
    page = admin.post("/console/triton/", {"name": "bad name", "url": "not a url",
                                           "protocol": "http", "timeout_s": "5"})
    assert page.status_code == 400
    assert set(page.context["form"].errors) >= {"name", "url"}
    assert not TritonServer.objects.exists()


@pytest.mark.parametrize("protocol", ["http"])
def test_an_editor_tries_a_model_and_reads_its_answer(browser_for, registered_server,
                                                      audit_since):
    editor = browser_for("editor")
    page = editor.get(f"/console/triton/{registered_server.pk}/", {"model": "ticket_urgency"})
    assert page.context["spec"].name == "ticket_urgency"
    tried = editor.post(f"/console/triton/{registered_server.pk}/try/", {
        "model": "ticket_urgency", "inputs": json.dumps({"text": "Production is down!"})})
    assert tried.status_code == 200, tried.context["try_form"].errors
    assert json.loads(tried.context["tried"])["label"] in {"high", "critical"}
    assert audit_since(action="inference.call")[0].data["via"] == "try_it"
    bad = editor.post(f"/console/triton/{registered_server.pk}/try/", {
        "model": "ticket_urgency", "inputs": "[1, 2"})
    assert bad.status_code == 400
    assert bad.context["try_form"].errors["inputs"]
    assert editor.post(f"/console/triton/{registered_server.pk}/").status_code == 403


def test_a_server_that_is_down_says_so(browser_for, create_triton_server):
    from tests.fixtures.live import free_port

    server = create_triton_server(url=f"127.0.0.1:{free_port()}")
    page = browser_for("editor").get(f"/console/triton/{server.pk}/")
    assert page.status_code == 200
    assert "unavailable" in page.context["error"] or "connect" in page.context["error"].lower()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_in_the_browser_an_admin_adds_a_server_and_tries_a_model(signed_in_page, live_web,
                                                               triton, screenshot):
    from playwright.sync_api import expect

    page, _ = signed_in_page(roles=["admin"])
    header, token = next(iter(auth_headers("http", triton.access_token).items()))
    page.goto(f"{live_web.url}/console/triton/")
    expect(page.get_by_text("No Triton server yet.")).to_be_visible()
    form = page.get_by_role("region", name="Add a server")
    form.get_by_label("Name").fill("lab")
    form.get_by_label("URL").fill(f"127.0.0.1:{triton.http_port}")
    form.get_by_label("Models to look for").fill("\n".join(triton.models))
    form.get_by_label("Secret headers").fill(f"{header}: {token}")
    form.get_by_role("button", name="Add server").click()
    expect(page.get_by_role("heading", name="Triton server lab")).to_be_visible()
    expect(page.get_by_role("region", name="Connection")).to_contain_text("Connected: 3 models")
    page.get_by_role("row", name="ticket_urgency").get_by_role("link").click()
    trying = page.get_by_role("region", name="Try a model")
    expect(trying).to_contain_text("Inputs")
    trying.get_by_label("Inputs (JSON)").fill('{"text": "Production is down, nobody can log in!"}')
    trying.get_by_role("button", name="Run the model").click()
    expect(page.get_by_label("Result")).to_contain_text('"label"')
    screenshot("tried-a-model")
    assert token not in page.content()
