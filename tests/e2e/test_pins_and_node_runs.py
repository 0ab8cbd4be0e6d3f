"""Pinned data and running one node, in the browser against a real worker: a pinned
HTTP node gives its pin in a test run (the local receiver counts no request); "Run this
node" runs the node with the data the nodes before it last produced (the HTTP call is
made once, not again), and an upstream edit marks that data stale."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import spaced
from tests.fixtures.runs import Receiver, flow

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def counter():
    server = Receiver()
    yield server
    server.close()


def test_pin_an_http_node_then_run_one_node_with_upstream_data(
        loopback_web, page, create_user, create_workflow, counter, screenshot):
    from tests.e2e.editor import Editor
    from tests.fixtures.accounts import PASSWORD

    user = create_user(roles=["editor"])
    graph = spaced(flow(("start", "trigger.manual", {"sample_input": {"order": 7}}),
                        ("fetch", "http.request", {"method": "POST", "url": counter.url,
                                                   "body": {"order": "{{ input.order }}"}}),
                        ("shape", "data.set", {"fields": [{"name": "ok",
                                                           "value": "input.body.ok"}]}),
                        edges=[("start", "fetch"), ("fetch", "shape")]))
    for node, name in zip(graph["nodes"], ("New order", "Fetch", "Shape"), strict=True):
        node["name"] = name
    workflow = create_workflow(user=user, name="Pins", graph=graph)

    page.goto(f"{loopback_web}/login/")
    page.get_by_label("Username or e-mail").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{loopback_web}/")
    editor = Editor(page=page, base_url=loopback_web, workflow_id=str(workflow.pk)).open()

    # Pin the HTTP node's output by pasting JSON.
    editor.node("Fetch").click()
    data = page.get_by_role("region", name="Node data")
    data.get_by_role("button", name="Pin output…").click()
    data.get_by_label("Pinned output (JSON)").fill(
        '{"status": 200, "headers": {}, "body": {"ok": "pinned"}}')
    data.get_by_role("button", name="Save pin").click()
    expect(data.get_by_role("status")).to_contain_text("Pinned")
    expect(editor.node("Fetch").get_by_label("Pinned")).to_be_visible()
    expect(editor.node("Fetch").locator(".weft-node")).to_have_class(re.compile(r"\bis-pinned\b"))
    screenshot("pinned")

    # A test run uses the pin: no request reaches the receiver.
    page.get_by_role("button", name="Start a test run").click()
    page.get_by_role("dialog", name="Test run").get_by_role("button", name="Run",
                                                              exact=True).click()
    expect(page.locator(".run-bar .pill")).to_have_text("succeeded", timeout=30_000)
    editor.node("Shape").click()
    expect(page.get_by_role("region", name="This node in the run").locator(
        ".json-view").last).to_contain_text('"ok": "pinned"')
    assert counter.keys() == {}
    screenshot("pinned-run")

    # Unpinned, "Run this node" on Shape makes the call once (Fetch has no data yet).
    page.get_by_role("button", name="Clear run").click()
    editor.node("Fetch").click()
    data.get_by_role("button", name="Unpin").click()
    expect(editor.node("Fetch").get_by_label("Pinned")).to_have_count(0)
    editor.node("Shape").click()
    data.get_by_role("button", name="Run this node").click()
    expect(page.locator(".run-bar .pill")).to_have_text("succeeded", timeout=30_000)
    assert sum(counter.keys().values()) == 1
    screenshot("ran-node")
    # Its input and output, side by side.
    expect(data.get_by_label("Input", exact=True)).to_contain_text("body")
    expect(data.get_by_label("Output", exact=True)).to_contain_text("ok")
    expect(data.get_by_label("Output", exact=True)).to_contain_text("true")

    # Change Shape and run it again: Fetch's data is reused, no new call.
    page.get_by_role("button", name="Clear run").click()
    value = editor.side_panel.get_by_label("Value")
    value.fill("input.status")
    expect(editor.save_indicator).to_have_text("Saved", timeout=15_000)
    data.get_by_role("button", name="Run this node").click()
    expect(page.locator(".run-bar .pill")).to_have_text("succeeded", timeout=30_000)
    expect(data.get_by_label("Output", exact=True)).to_contain_text("200")
    assert sum(counter.keys().values()) == 1
    data.get_by_label("Output", exact=True).get_by_role("button", name="Table").click()
    screenshot("run-this-node")

    # An upstream edit makes Shape's data stale.
    page.get_by_role("button", name="Clear run").click()
    editor.node("Fetch").click()
    editor.side_panel.get_by_label("Timeout (s)").fill("20")
    expect(editor.save_indicator).to_have_text("Saved", timeout=15_000)
    editor.node("Shape").click()
    expect(data.get_by_role("note")).to_contain_text("Stale")
    screenshot("stale")
