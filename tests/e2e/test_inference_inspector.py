"""The inference node's inspector: a server picker of the registered Triton servers, a
model picker with versions and readiness, the model's inputs and outputs with datatypes
and shapes, one expression field per model input, and "try it" on the sample data."""

import re

import pytest
from playwright.sync_api import expect

from apps.inference.client import auth_headers
from apps.workflows.models import Workflow
from tests.e2e.conftest import spaced
from tests.fixtures.runs import flow

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TICKET = "Production is down, nobody can log in!"


def test_configure_an_inference_node_with_pickers_and_try_it(
        signed_in_page, create_workflow, create_triton_server, open_editor, screenshot,
        triton, audit_since):
    page, user = signed_in_page(roles=["editor"])
    create_triton_server(name="local", url=f"127.0.0.1:{triton.http_port}", protocol="http",
                         secret_headers=auth_headers("http", triton.access_token),
                         model_names=list(triton.models))
    graph = spaced(flow(("start", "trigger.manual", {"sample_input": {"subject": TICKET}}),
                        ("score", "inference.triton", {}),
                        edges=[("start", "score")]))
    graph["nodes"][0]["name"], graph["nodes"][1]["name"] = "New ticket", "Score urgency"
    workflow = create_workflow(user=user, name="Urgency", graph=graph)
    editor = open_editor(page, workflow)
    editor.settle()  # the problems list opens and moves the canvas
    editor.select("Score urgency")
    inspector = page.get_by_role("tabpanel", name="Inspector")

    # A server picker, then a model picker with versions and readiness.
    server = inspector.get_by_role("combobox", name=re.compile(r"^Server"))
    expect(server.locator("option", has_text="local")).to_have_count(1)
    server.select_option("local")
    model = inspector.get_by_role("combobox", name=re.compile(r"^Model"))
    screenshot("server-picked")
    expect(model.locator("option", has_text=re.compile(r"ticket_urgency · v1 · ready"))).to_have_count(1)
    model.select_option("ticket_urgency")
    expect(inspector.get_by_role("combobox", name="Version")).to_contain_text("Latest")

    # The model's input gets an expression field with its datatype and shape; the
    # outputs are listed; no JSON box with expressions in strings.
    text = inspector.locator(".model-input").filter(has_text="text")
    expect(text).to_contain_text("BYTES [1]")
    outputs = inspector.get_by_role("list", name="Model outputs")
    expect(outputs).to_contain_text("label")
    expect(outputs).to_contain_text("probabilities")
    assert inspector.locator(".json-field").filter(has_text="Inputs").count() == 0
    box = text.locator("textarea")
    box.fill("input.subject")
    expect(text.get_by_label("Preview")).to_contain_text(TICKET)
    screenshot("model-picked")

    # "Try it" runs the model on the sample data: label and confidence.
    inspector.get_by_role("button", name="Try it on the sample data").click()
    result = inspector.get_by_label("Try it result")
    expect(result).to_contain_text(re.compile(r"Label\s+(high|critical)"))
    expect(result).to_contain_text("%")
    result.scroll_into_view_if_needed()
    screenshot("tried")
    (event,) = audit_since(action="inference.call")
    assert event.data["via"] == "try_it"

    # Saved as the node's config: one expression per input.
    editor.settle()
    editor.expect_saved()
    config = Workflow.objects.get(pk=workflow.pk).graph["nodes"][1]["config"]
    assert config["server"] == "local"
    assert config["model"] == "ticket_urgency"
    assert config["inputs"] == {"text": "input.subject"}
    expect(editor.problems).not_to_contain_text("Score urgency")
