"""Two tabs on one workflow: the second save meets the first and nothing is lost."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import spaced
from tests.e2e.editor import Editor, api_get
from tests.fixtures.workflows import flow

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

GRAPH = spaced(flow(("start", "trigger.manual"), ("a", "core.noop"), ("b", "core.noop"),
                        edges=[("start", "a"), ("a", "b")]))
DIALOG = "This workflow was changed by someone else"


def rename(editor: Editor, node: str, to: str) -> None:
    editor.select(node)
    name = editor.page.get_by_role("tabpanel", name="Inspector").get_by_label("Name", exact=True)
    name.fill(to)
    expect(editor.node(to)).to_be_visible()


@pytest.fixture
def two_tabs(signed_in_page, create_workflow, open_editor):
    """Tab A and tab B of one signed-in editor, both open on the same workflow."""
    page_a, user = signed_in_page(roles=["editor"])
    workflow = create_workflow(user=user, name="Shared", graph=GRAPH)
    tab_a = open_editor(page_a, workflow)
    tab_b = open_editor(page_a.context.new_page(), workflow)
    tab_b.page.set_viewport_size({"width": 1440, "height": 900})
    return tab_a, tab_b, workflow, user


def edit_in_both(tab_a: Editor, tab_b: Editor) -> None:
    rename(tab_a, "a", "Edited in A")
    tab_a.expect_saved()
    rename(tab_b, "b", "Edited in B")  # B still holds the revision both tabs opened


def test_second_save_gets_the_conflict_dialog_and_keeps_mine_as_a_copy(
    two_tabs, api_token, live_web, screenshot
):
    tab_a, tab_b, workflow, user = two_tabs
    edit_in_both(tab_a, tab_b)
    dialog = tab_b.page.get_by_role("dialog", name=DIALOG)
    expect(dialog).to_be_visible(timeout=15_000)
    expect(tab_b.save_indicator).to_have_text("Changed elsewhere")
    differences = dialog.get_by_label("Differences")
    expect(differences).to_contain_text("Nodes changed")
    expect(differences).to_contain_text("(name)")
    screenshot("tab-a-saved", of=tab_a.page)
    screenshot("tab-b-conflict", of=tab_b.page)

    dialog.get_by_role("button", name="Keep mine as a copy").click()
    # The copy opens in tab B, holding B's edit.
    tab_b.page.wait_for_url(lambda url: f"/editor/{workflow.pk}/" not in url and "/editor/" in url)
    expect(tab_b.page.get_by_label("Workflow name")).to_have_value("Shared (copy)")
    expect(tab_b.node("Edited in B")).to_be_visible()
    expect(tab_b.node("a")).to_be_visible()
    screenshot("tab-b-copy", of=tab_b.page)

    token = api_token(user)
    original = api_get(live_web.url, f"/workflows/{workflow.pk}/", token)
    names = {n["id"]: n["name"] for n in original["graph"]["nodes"]}
    assert names == {"start": "start", "a": "Edited in A", "b": "b"}
    copy_id = tab_b.page.url.rstrip("/").rsplit("/", 1)[-1]
    copy = api_get(live_web.url, f"/workflows/{copy_id}/", token)
    assert copy["name"] == "Shared (copy)"
    names = {n["id"]: n["name"] for n in copy["graph"]["nodes"]}
    assert names == {"start": "start", "a": "a", "b": "Edited in B"}
    assert len(copy["graph"]["edges"]) == 2


def test_reload_theirs_shows_the_other_tabs_edit(two_tabs, api_token, live_web, screenshot):
    tab_a, tab_b, workflow, user = two_tabs
    edit_in_both(tab_a, tab_b)
    dialog = tab_b.page.get_by_role("dialog", name=DIALOG)
    expect(dialog).to_be_visible(timeout=15_000)
    dialog.get_by_role("button", name="Reload theirs").click()
    expect(dialog).to_be_hidden()
    expect(tab_b.node("Edited in A")).to_be_visible()
    expect(tab_b.node("b")).to_be_visible()
    expect(tab_b.node("Edited in B")).to_have_count(0)
    expect(tab_b.save_indicator).to_have_text("Saved")
    screenshot("tab-b-reloaded-theirs", of=tab_b.page)

    # Tab B now edits on top of the current revision: its next save goes through.
    rename(tab_b, "b", "Then B")
    tab_b.expect_saved()
    saved = api_get(live_web.url, f"/workflows/{workflow.pk}/", api_token(user))
    assert {n["name"] for n in saved["graph"]["nodes"]} == {"start", "Edited in A", "Then B"}
    assert tab_b.page.get_by_role("dialog", name=DIALOG).count() == 0
