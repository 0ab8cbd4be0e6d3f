"""Every setting on the canvas, in words a person uses: ports that follow the settings
(a Switch's cases, the error port of the failure policy), forms without class names and
with working buttons, problems by node name that lead to their field, and palette clicks
that place a node where it covers no other."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import spaced
from tests.fixtures.workflows import flow

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CLASS_NAMES = ("SetField", "SwitchCase", "ExecutionPolicy", "SwitchConfig", "HttpRequestConfig",
               "TritonInferenceConfig", "SetConfig", "glyphicon")


def _names(graph, **names):
    for node in graph["nodes"]:
        node["name"] = names.get(node["id"], node["name"])
    return graph


def _out_handles(editor, name):
    return editor.node(name).locator(".react-flow__handle.source")


def _no_box_overlaps(page):
    boxes = [n.bounding_box() for n in page.locator(".react-flow__node").all()]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
                        and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"]), (a, b)


def test_switch_cases_draw_their_ports_and_problems_lead_to_the_field(
        signed_in_page, create_workflow, open_editor, screenshot):
    page, user = signed_in_page(roles=["editor"])
    graph = spaced(_names(flow(("start", "trigger.manual"), ("route", "control.switch"),
                                   ("urgent", "core.noop"), edges=[("start", "route")]),
                          start="Start", route="Route ticket", urgent="Page on-call"))
    workflow = create_workflow(user=user, name="Routing", graph=graph)
    editor = open_editor(page, workflow)

    # No cases yet: the Switch draws its default port only (it drew ten cases before).
    expect(_out_handles(editor, "Route ticket")).to_have_count(1)
    expect(editor.handle("Route ticket", "default", kind="source")).to_be_visible()

    editor.select("Route ticket")
    inspector = page.get_by_role("tabpanel", name="Inspector")
    inspector.get_by_role("button", name="Add").click()
    expect(_out_handles(editor, "Route ticket")).to_have_count(2)  # at once, no round trip
    inspector.get_by_role("button", name="Add").click()
    expect(_out_handles(editor, "Route ticket")).to_have_count(3)
    expect(editor.handle("Route ticket", "case1", kind="source")).to_be_visible()
    expect(editor.handle("Route ticket", "case2", kind="source")).to_be_visible()
    inspector.get_by_label("Label").first.fill("Urgent")
    expect(editor.node("Route ticket")).to_contain_text("Urgent")
    expect(editor.node("Route ticket")).to_contain_text("Case 2")

    # The buttons of the list draw an icon and say what they do.
    remove = inspector.get_by_role("button", name="Remove")
    expect(remove).to_have_count(2)
    expect(remove.first.locator("svg path")).to_have_count(1)
    text = inspector.inner_text()
    for name in CLASS_NAMES:
        assert name not in text
    assert inspector.locator(".glyphicon").count() == 0
    screenshot("switch-two-cases")

    # The cases have no conditions yet: the problems name the node by its name (the id
    # on hover) and appear once each.
    editor.settle()
    problems = editor.problems
    missing = problems.get_by_role("button", name=re.compile(
        r"Node 'Route ticket', field 'cases\.1\.condition'"))
    expect(missing).to_have_count(1)
    expect(problems).not_to_contain_text("'route'")
    expect(missing.locator(".problem-where")).to_have_attribute("title", "Node id: route")
    screenshot("problems-by-name")

    # Clicking a problem selects the node and puts the cursor in its field.
    editor.select("Page on-call")
    missing.click()
    expect(editor.node("Route ticket")).to_have_class(re.compile(r"\bselected\b"))
    ids = inspector.locator("textarea, input").evaluate_all("els => els.map(e => e.id)")
    assert "cfg-route_cases_1_condition" in ids, ids
    # (expect, not wait_for_function: a string predicate polled in the page is eval,
    # which the Content-Security-Policy refuses when the first look is not yet true)
    expect(inspector.locator("#cfg-route_cases_1_condition")).to_be_focused()
    page.keyboard.type("input.priority > 8")
    inspector.locator("#cfg-route_cases_0_condition").fill("input.vip")
    editor.connect("Route ticket", "Page on-call", source_port="case2")
    editor.settle()
    expect(problems).to_contain_text("No problems found.")

    # Problems collapse to a count.
    page.get_by_role("button", name="Collapse problems to a count").click()
    expect(problems).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile(r"Show problems: 0 errors"))).to_be_visible()

    # Removing the case a connection leaves from keeps that connection drawn, marked,
    # with a warning (saved graphs keep validating).
    inspector.get_by_role("button", name="Remove").nth(1).click()
    expect(_out_handles(editor, "Route ticket")).to_have_count(3)
    expect(editor.handle("Route ticket", "case2", kind="source")).to_have_class(
        re.compile(r"\bis-stale\b"))
    expect(page.locator(".react-flow__edge")).to_have_count(2)
    page.get_by_role("button", name=re.compile(r"Show problems")).click()
    editor.settle()
    expect(editor.problems).to_contain_text("never carry data")
    screenshot("case-removed-edge-kept")


def test_error_port_follows_the_policy_and_forms_read_as_words(
        signed_in_page, create_workflow, open_editor, screenshot):
    page, user = signed_in_page(roles=["editor"])
    graph = spaced(_names(flow(("start", "trigger.manual"), ("fetch", "http.request"),
                                   ("set", "data.set"), ("model", "inference.triton"),
                                   edges=[("start", "fetch")]),
                          start="Start", fetch="Fetch order", set="Shape order",
                          model="Score order"))
    graph["nodes"][1]["config"] = {"url": "https://api.example.com/orders"}
    graph["nodes"][2]["config"] = {"fields": [{"name": "total", "value": "input.amount"}]}
    workflow = create_workflow(user=user, name="Orders", graph=graph)
    editor = open_editor(page, workflow)
    inspector = page.get_by_role("tabpanel", name="Inspector")

    # The failure policy fails the run: no error port; the model node draws none either.
    expect(_out_handles(editor, "Fetch order")).to_have_count(1)
    expect(_out_handles(editor, "Score order")).to_have_count(1)
    editor.select("Fetch order")
    # The policy is folded away at its defaults, its heading saying what it does.
    policy = inspector.locator("details.form-section")
    expect(policy.locator("summary")).to_have_text(
        re.compile(r"When this step fails\s*Stop the run, 2 retries"))
    expect(inspector.get_by_label("On error")).to_be_hidden()
    policy.scroll_into_view_if_needed()
    screenshot("http-policy-folded")
    policy.locator("summary").click()
    inspector.get_by_label("On error").select_option(label="Continue on the 'On error' port")
    expect(policy.locator("summary")).to_contain_text("Continue on the 'On error' port")
    expect(editor.handle("Fetch order", "error", kind="source")).to_be_visible()
    expect(editor.node("Fetch order")).to_contain_text("On error")
    inspector.get_by_label("On error").scroll_into_view_if_needed()
    screenshot("http-inspector", of=None)
    inspector.screenshot(path=str(screenshot("http-page").with_name("02b-http-policy-panel.png")))
    text = inspector.inner_text()
    for name in CLASS_NAMES:
        assert name not in text
    assert "node type" not in text

    # An expression node offers the same policy and draws the same port.
    expect(_out_handles(editor, "Shape order")).to_have_count(1)
    editor.select("Shape order")
    expect(inspector).to_contain_text("When this step fails")
    inspector.locator("details.form-section summary").click()
    inspector.get_by_label("On error").select_option(label="Continue on the 'On error' port")
    expect(_out_handles(editor, "Shape order")).to_have_count(2)
    expect(editor.handle("Shape order", "error", kind="source")).to_be_visible()
    expect(editor.node("Shape order")).to_contain_text("On error")
    screenshot("set-error-port")

    for name, step in (("Shape order", "set-inspector"), ("Score order", "triton-inspector")):
        editor.select(name)
        expect(inspector.locator(".config-form")).to_be_visible()
        text = inspector.inner_text()
        for class_name in CLASS_NAMES:
            assert class_name not in text, (name, class_name)
        assert inspector.locator(".glyphicon").count() == 0
        screenshot(step)

    # A palette click places the node next to the selected one, covering nothing.
    editor.select("Fetch order")
    before = page.locator(".react-flow__node").count()
    for _ in range(3):
        editor.palette.get_by_role("button", name="Add No operation:").click()
    expect(page.locator(".react-flow__node")).to_have_count(before + 3)
    editor.settle()
    _no_box_overlaps(page)
    screenshot("palette-placed")
