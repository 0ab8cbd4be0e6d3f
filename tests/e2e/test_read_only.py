"""A viewer sees the workflow in the editor but cannot change it."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import spaced
from tests.e2e.editor import api_get
from tests.fixtures.workflows import flow

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_viewer_sees_the_editor_without_editing_controls(
    signed_in_page, create_workflow, open_editor, api_token, live_web, screenshot
):
    page, viewer = signed_in_page(roles=["viewer"])
    graph = spaced(flow(("start", "trigger.manual"), ("a", "core.noop"), edges=[("start", "a")]))
    workflow = create_workflow(name="Someone else's", graph=graph)  # owned by an editor
    editor = open_editor(page, workflow)

    expect(page.get_by_role("status").filter(has_text="You can view this workflow but not change it")).to_be_visible()
    expect(editor.node("start")).to_be_visible()
    expect(page.locator(".react-flow__edge")).to_have_count(1)
    expect(page.get_by_text("Read-only", exact=True)).to_be_visible()
    # No publishing, test runs, import, undo or delete for a viewer.
    for name in ("Publish a new version", "Start a test run", "Import a workflow from JSON",
                 "Arrange nodes automatically", "Add a sticky note"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    for name in ("Undo (Ctrl+Z)", "Delete selection (Delete)", "Paste (Ctrl+V)"):
        expect(page.get_by_role("button", name=name)).to_be_disabled()
    # The palette is there to read, not to add from.
    expect(editor.palette.get_by_role("button", name="Add Manual trigger:")).to_be_disabled()
    expect(page.get_by_label("Workflow name")).to_have_attribute("readonly", "")
    # Export stays: reading is allowed.
    expect(page.get_by_role("button", name="Export as JSON")).to_be_enabled()

    # A node can be selected and its settings read, but not changed.
    editor.select("a")
    inspector = page.get_by_role("tabpanel", name="Inspector")
    expect(inspector.get_by_label("Name", exact=True)).to_have_attribute("readonly", "")
    # Keys and drags change nothing.
    page.keyboard.press("Delete")
    before, box = editor.node("start").bounding_box(), editor.node("a").bounding_box()
    page.mouse.move(box["x"] + 60, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + 260, box["y"] + 220, steps=8)
    page.mouse.up()
    expect(page.locator(".react-flow__node")).to_have_count(2)
    # (the drag pans the view instead: the nodes keep their places relative to each other)
    start, moved = editor.node("start").bounding_box(), editor.node("a").bounding_box()
    assert moved["x"] - start["x"] == box["x"] - before["x"]
    assert moved["y"] - start["y"] == box["y"] - before["y"]
    screenshot("viewer")

    # Versions can be viewed but not restored.
    page.get_by_role("tab", name="Versions").click()
    expect(page.get_by_role("region", name="Versions")).to_contain_text("Nothing published yet")
    saved = api_get(live_web.url, f"/workflows/{workflow.pk}/", api_token(viewer))
    assert saved["graph"] == graph
    assert saved["revision"] == workflow.revision
