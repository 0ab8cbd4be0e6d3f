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
    workflow = create_workflow(user=user, name="Score leads", graph=EMPTY_GRAPH)
    editor = open_editor(page, workflow)
    expect(page.get_by_role("note")).to_contain_text("Drag a trigger from the palette")
    screenshot("empty")

    # Drag three node types from the palette onto the canvas.
    editor.drag_from_palette("Manual trigger", x=180, y=200)
    editor.drag_from_palette("No operation", x=480, y=200)
    editor.drag_from_palette("Model inference", x=780, y=200)
    screenshot("dropped")

    # Connect trigger -> no-op by dragging from the output handle to the input handle.
    editor.connect("Manual trigger", "No operation")

    # The inference node is not connected and not configured: errors on the node and listed.
    inference = editor.node("Model inference")
    expect(inference.locator(".weft-node")).to_have_class(_css("has-error"))
    expect(inference.get_by_label("problems", exact=False)).to_be_visible()
    inference_id = editor.node_id("Model inference")
    problems = editor.problems
    unconnected = problems.get_by_role(
        "button", name=f"error: Input port 'in' of node '{inference_id}' is not connected.")
    expect(unconnected).to_be_visible()
    expect(problems.get_by_role("button", name=f"error: Node '{inference_id}', field 'server'")).to_be_visible()
    # ... and the connected no-op has none left
    noop_id = editor.node_id("No operation")
    expect(problems.get_by_role("button", name=f"of node '{noop_id}' is not connected")).to_have_count(0)
    screenshot("problems")

    # Configure it in the inspector: a form generated from the type's JSON Schema.
    editor.select("Model inference")
    inspector = page.get_by_role("tabpanel", name="Inspector")
    inspector.get_by_label("Server").fill("demo")
    inspector.get_by_label("Model").fill("lead_scorer")
    inspector.get_by_label("Name", exact=True).fill("Score")
    expect(editor.node("Score")).to_be_visible()
    screenshot("configured")

    # Fix the last error: connect the no-op to it.
    editor.connect("No operation", "Score")
    expect(unconnected).to_have_count(0)
    expect(problems).to_contain_text("No problems found.")
    expect(editor.node("Score").locator(".weft-node")).not_to_have_class(_css("has-error"))
    editor.expect_saved()
    screenshot("fixed-and-saved")

    # What the server holds, through the API.
    token = api_token(user)
    saved = api_get(live_web.url, f"/workflows/{workflow.pk}/", token)["graph"]
    by_name = {n["name"]: n for n in saved["nodes"]}
    assert set(by_name) == {"Manual trigger", "No operation", "Score"}
    assert by_name["Score"]["type"] == "inference.triton"
    assert by_name["Score"]["config"]["server"] == "demo"
    assert by_name["Score"]["config"]["model"] == "lead_scorer"
    ids = {n["id"]: n["name"] for n in saved["nodes"]}
    assert sorted((ids[e["source"]], ids[e["target"]]) for e in saved["edges"]) == [
        ("Manual trigger", "No operation"), ("No operation", "Score")]

    # Reload: the same graph comes back on the canvas.
    editor.reload()
    expect(page.locator(".react-flow__node")).to_have_count(3)
    expect(page.locator(".react-flow__edge")).to_have_count(2)
    for name in ("Manual trigger", "No operation", "Score"):
        expect(editor.node(name)).to_be_visible()
    editor.select("Score")
    expect(inspector.get_by_label("Model")).to_have_value("lead_scorer")
    after = api_get(live_web.url, f"/workflows/{workflow.pk}/", token)["graph"]
    assert after == saved
    screenshot("reloaded")

    # Publish with a note; the version shows in the versions panel.
    page.get_by_role("button", name="Publish a new version").click()
    dialog = page.get_by_role("dialog", name="Publish a new version")
    dialog.get_by_label("What changed?").fill("First cut: score every lead")
    screenshot("publish-dialog")
    dialog.get_by_role("button", name="Publish", exact=True).click()
    expect(dialog).to_be_hidden()
    expect(editor.toolbar.get_by_text("v1", exact=True)).to_be_visible()
    page.get_by_role("tab", name="Versions").click()
    versions = page.get_by_role("region", name="Versions")
    expect(versions.get_by_text("Version 1")).to_be_visible()
    expect(versions.get_by_text("First cut: score every lead")).to_be_visible()
    screenshot("versions")
    listed = api_get(live_web.url, f"/workflows/{workflow.pk}/versions/", token)["results"]
    assert [(v["number"], v["note"]) for v in listed] == [(1, "First cut: score every lead")]


def _css(name):
    import re

    return re.compile(rf"(^|\s){re.escape(name)}(\s|$)")
