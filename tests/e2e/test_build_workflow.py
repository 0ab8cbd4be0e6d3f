"""Building a workflow by hand in the canvas editor, from an empty draft to a published version."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import EMPTY_GRAPH
from tests.e2e.editor import api_get

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_build_connect_configure_fix_save_reload_publish(
    signed_in_page, create_workflow, open_editor, api_token, screenshot, live_web
):
    page, user = signed_in_page(roles=["editor"])
    workflow = create_workflow(user=user, name="Big orders", graph=EMPTY_GRAPH)
    editor = open_editor(page, workflow)
    expect(page.get_by_role("note")).to_contain_text("Drag a trigger from the palette")
    screenshot("empty")

    # Drag three node types from the palette onto the canvas.
    editor.drag_from_palette("Webhook", x=150, y=200)
    editor.drag_from_palette("Set fields", x=450, y=200)
    editor.drag_from_palette("If", x=750, y=200)
    screenshot("dropped")

    # Connect webhook -> set by dragging from the output handle to the input handle.
    editor.connect("Webhook", "Set fields")

    # The If is not connected and has no condition: errors on the node and in the list.
    expect(editor.node("If").locator(".weft-node")).to_have_class(_css("has-error"))
    expect(editor.node("If").get_by_label("problems", exact=False)).to_be_visible()
    problems = editor.problems
    unconnected = problems.get_by_role(
        "button", name="error: Input port 'in' of node 'If' is not connected.")
    expect(unconnected).to_be_visible()
    expect(problems.get_by_role("button", name="error: Node 'If', field 'condition'")).to_be_visible()
    # ... and the connected Set fields has no unconnected input left
    expect(problems.get_by_role("button", name="of node 'Set fields' is not connected")).to_have_count(0)
    screenshot("problems")

    # Configure both in the inspector: forms generated from the types' JSON Schemas.
    inspector = page.get_by_role("tabpanel", name="Inspector")
    editor.select("Set fields")
    inspector.get_by_role("button", name="Add").click()
    inspector.get_by_label("Field name").fill("total")
    inspector.get_by_label("Value").fill("input.amount * 2")
    screenshot("set-configured")
    editor.select("If")
    inspector.get_by_label("Condition").fill("input.total > 100")
    inspector.get_by_label("Name", exact=True).fill("Big order?")
    expect(editor.node("Big order?")).to_be_visible()
    screenshot("if-configured")

    # Fix the last error: connect Set fields to the If.
    editor.connect("Set fields", "Big order?")
    expect(unconnected).to_have_count(0)
    expect(problems).to_contain_text("No problems found.")
    expect(editor.node("Big order?").locator(".weft-node")).not_to_have_class(_css("has-error"))
    editor.expect_saved()
    screenshot("fixed-and-saved")

    # What the server holds, through the API.
    token = api_token(user)
    saved = api_get(live_web.url, f"/workflows/{workflow.pk}/", token)["graph"]
    by_name = {n["name"]: n for n in saved["nodes"]}
    assert {name: n["type"] for name, n in by_name.items()} == {
        "Webhook": "trigger.webhook", "Set fields": "data.set", "Big order?": "control.if"}
    assert by_name["Set fields"]["config"]["fields"] == [{"name": "total", "value": "input.amount * 2"}]
    condition = by_name["Big order?"]["config"]
    assert condition["condition"] == "input.total > 100"
    assert condition.get("policy", {}).get("on_error", "fail") == "fail"  # the default kept
    ids = {n["id"]: n["name"] for n in saved["nodes"]}
    assert sorted((ids[e["source"]], ids[e["target"]]) for e in saved["edges"]) == [
        ("Set fields", "Big order?"), ("Webhook", "Set fields")]

    # Reload: the same graph comes back on the canvas.
    editor.reload()
    expect(page.locator(".react-flow__node")).to_have_count(3)
    expect(page.locator(".react-flow__edge")).to_have_count(2)
    for name in ("Webhook", "Set fields", "Big order?"):
        expect(editor.node(name)).to_be_visible()
    editor.select("Big order?")
    expect(inspector.get_by_label("Condition")).to_have_value("input.total > 100")
    after = api_get(live_web.url, f"/workflows/{workflow.pk}/", token)["graph"]
    assert after == saved
    screenshot("reloaded")

    # Publish with a note; the version shows in the versions panel.
    page.get_by_role("button", name="Publish a new version").click()
    dialog = page.get_by_role("dialog", name="Publish a new version")
    dialog.get_by_label("What changed?").fill("First cut: flag big orders")
    screenshot("publish-dialog")
    dialog.get_by_role("button", name="Publish", exact=True).click()
    expect(dialog).to_be_hidden()
    expect(editor.toolbar.get_by_text("v1", exact=True)).to_be_visible()
    page.get_by_role("tab", name="Versions").click()
    versions = page.get_by_role("region", name="Versions")
    expect(versions.get_by_text("Version 1")).to_be_visible()
    expect(versions.get_by_text("First cut: flag big orders")).to_be_visible()
    screenshot("versions")
    listed = api_get(live_web.url, f"/workflows/{workflow.pk}/versions/", token)["results"]
    assert [(v["number"], v["note"]) for v in listed] == [(1, "First cut: flag big orders")]


def _css(name):
    import re

    return re.compile(rf"(^|\s){re.escape(name)}(\s|$)")
