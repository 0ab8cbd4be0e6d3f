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
