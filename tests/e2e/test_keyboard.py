"""Editing from the keyboard: Delete removes the selected node, Ctrl+Z brings it back."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import spaced
from tests.e2e.editor import api_get
from tests.fixtures.workflows import flow

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_delete_removes_the_selected_node_and_ctrl_z_restores_it(
    signed_in_page, create_workflow, open_editor, api_token, live_web, screenshot
):
    page, user = signed_in_page(roles=["editor"])
    graph = spaced(flow(("start", "trigger.manual"), ("middle", "core.noop"), ("end", "core.noop"),
                            edges=[("start", "middle"), ("middle", "end")]))
    workflow = create_workflow(user=user, name="Keys", graph=graph)
    editor = open_editor(page, workflow)
    token = api_token(user)
    screenshot("opened")

    editor.select("middle")
    page.keyboard.press("Delete")
    expect(editor.node("middle")).to_have_count(0)
    expect(page.locator(".react-flow__edge")).to_have_count(0)  # its edges go with it
    editor.expect_saved()
    saved = api_get(live_web.url, f"/workflows/{workflow.pk}/", token)["graph"]
    assert [n["id"] for n in saved["nodes"]] == ["start", "end"]
    assert saved["edges"] == []
    screenshot("deleted")

    page.keyboard.press("Control+z")
    expect(editor.node("middle")).to_be_visible()
    expect(page.locator(".react-flow__edge")).to_have_count(2)
    editor.expect_saved()
    saved = api_get(live_web.url, f"/workflows/{workflow.pk}/", token)["graph"]
    assert saved["nodes"] == graph["nodes"]
    assert saved["edges"] == graph["edges"]
    screenshot("undone")

    # Ctrl+Shift+Z does it again; typing in a field is not a shortcut.
    page.keyboard.press("Control+Shift+z")
    expect(editor.node("middle")).to_have_count(0)
    page.keyboard.press("Control+z")
    editor.select("end")
    name = page.get_by_role("tabpanel", name="Inspector").get_by_label("Name", exact=True)
    name.press("End")
    name.press("Backspace")
    expect(editor.node("en")).to_be_visible()
    expect(page.locator(".react-flow__node")).to_have_count(3)
