"""A test run from the editor, executed by a real Celery worker, watched live over the
WebSocket: the nodes turn green one by one and a node shows its output."""

import pytest
from playwright.sync_api import expect

from apps.workflows.services import workflow_publish
from tests.e2e.conftest import spaced
from tests.e2e.editor import Editor
from tests.fixtures.accounts import PASSWORD
from tests.fixtures.runs import flow

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_test_run_lights_nodes_live_and_shows_outputs(
    page, live_web_on_worker, create_user, create_workflow, screenshot
):
    url = live_web_on_worker
    user = create_user(roles=["editor"])
    graph = spaced(flow(("start", "trigger.manual"),
                        ("total", "data.set", {"fields": [{"name": "total", "value": "input.amount * 2"}]}),
                        ("big", "control.if", {"condition": "input.total > 100"}),
                        edges=[("start", "total"), ("total", "big")]))
    workflow = create_workflow(user=user, name="Run me", graph=graph)
    workflow_publish(workflow=workflow, user=user)

    page.goto(f"{url}/login/")
    page.get_by_label("Username or e-mail").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/")
    editor = Editor(page=page, base_url=url, workflow_id=str(workflow.pk)).open()

    page.get_by_role("button", name="Start a test run").click()
    dialog = page.get_by_role("dialog", name="Test run")
    dialog.get_by_label("Input (JSON)").fill('{"amount": 70}')
    screenshot("run-dialog")
    dialog.get_by_role("button", name="Run", exact=True).click()

    for node in ("start", "total", "big"):
        expect(editor.node(node).get_by_role("status")).to_have_text("Succeeded", timeout=30_000)
        expect(editor.node(node).locator(".weft-node")).to_have_class(
            __import__("re").compile(r"\brun-succeeded\b"))
    expect(page.locator(".run-bar")).to_contain_text("succeeded")
    screenshot("run-succeeded")

    editor.select("total")
    details = page.get_by_role("region", name="This node in the run")
    expect(details).to_contain_text("Outputs")
    expect(details.locator(".json-view").last).to_contain_text('"total": 140')
    # Looking at a node's settings (its form fills in defaults) is not an edit:
    # nothing is saved, the draft keeps its revision.
    page.wait_for_timeout(2000)
    expect(editor.save_indicator).to_have_text("Saved")
    revision = workflow.revision
    workflow.refresh_from_db()
    assert workflow.revision == revision
    screenshot("node-output")
