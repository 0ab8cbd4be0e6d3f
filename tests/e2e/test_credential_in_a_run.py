"""A credential created on its console page is picked in an HTTP node and used when the
node runs (Chromium, a real worker): the request carries it, what the run shows does not."""

import pytest
from playwright.sync_api import expect

from apps.runs.models import NodeRun
from tests.e2e.conftest import spaced
from tests.e2e.editor import Editor
from tests.fixtures.accounts import PASSWORD
from tests.fixtures.runs import Receiver, flow

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SECRET = "tok-e2e-in-a-run"


def test_create_a_credential_and_use_it_in_an_http_node(loopback_web, page, create_user,
                                                        create_workflow, screenshot,
                                                        csp_watch):
    receiver = Receiver()
    user = create_user(roles=["admin"])
    page.goto(f"{loopback_web}/login/")
    page.get_by_label("Username or e-mail").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{loopback_web}/")

    page.goto(f"{loopback_web}/console/credentials/")
    form = page.get_by_role("region", name="Add a credential")
    form.get_by_label("Name", exact=True).fill("Receiver API")
    form.get_by_label("Kind").select_option("bearer")
    form.get_by_label("Token").fill(SECRET)
    form.get_by_label("Allowed hosts").fill("127.0.0.1")
    form.get_by_role("button", name="Add credential").click()
    expect(page.get_by_role("heading", name="Credential Receiver API")).to_be_visible()

    graph = spaced(flow(("start", "trigger.manual"),
                        ("call", "http.request", {"method": "POST", "url": receiver.url,
                                                  "body": {"hello": "there"}}),
                        edges=[("start", "call")]))
    graph["nodes"][1]["name"] = "Call"
    workflow = create_workflow(user=user, name="Receiver sync", graph=graph)
    editor = Editor(page=page, base_url=loopback_web, workflow_id=str(workflow.pk)).open()
    editor.select("Call")
    editor.side_panel.get_by_label("Credential").select_option(label="Receiver API (bearer)")
    editor.expect_saved()
    page.get_by_role("button", name="Start a test run").click()
    page.get_by_role("dialog", name="Test run").get_by_role("button", name="Run",
                                                              exact=True).click()
    try:
        expect(page.locator(".run-bar .pill")).to_have_text("succeeded", timeout=30_000)
        editor.node("Call").click()
        shown = page.get_by_role("region", name="This node in the run")
        expect(shown).to_contain_text('"ok": true')
        screenshot("credential-used")
        assert [h.get("Authorization") for h in receiver.seen] == [f"Bearer {SECRET}"]
        assert SECRET not in page.content()
        stored = NodeRun.objects.get(run__workflow=workflow, node_id="call")
        assert SECRET not in str(stored.inputs) + str(stored.outputs)
    finally:
        receiver.close()
    assert csp_watch() == []
