"""A past run whose map has more items than its output lists: the run panel says how
many, shows the first page on request and the next ones with "More"."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_run_panel_pages_through_a_large_maps_items(signed_in_page, run_map, open_editor,
                                                        screenshot):
    page, _ = signed_in_page(roles=["viewer"])
    run = run_map(1200, chunk_size=600)
    assert run.status == "succeeded", run.error
    editor = open_editor(page, run.workflow)

    page.get_by_role("tab", name="Runs").click()
    page.get_by_role("button", name=f"Open run {run.pk} (succeeded)").click()
    expect(page.locator(".run-bar")).to_contain_text("succeeded")
    page.get_by_role("tab", name="Inspector").click()
    editor.select("map")
    items = page.get_by_role("region", name="Map items")
    expect(items).to_contain_text("1,200 items")
    rows = items.get_by_role("row")
    expect(rows).to_have_count(0)

    # Keyboard only: focus the button, press Enter.
    items.get_by_role("button", name="Show items").focus()
    page.keyboard.press("Enter")
    expect(rows).to_have_count(1 + 50)  # the header row and the first page
    expect(rows.nth(1)).to_contain_text('"item":0}')
    items.get_by_role("button", name="More").press("Enter")
    expect(rows).to_have_count(1 + 100)
    expect(rows.nth(100)).to_contain_text('"item":99}')
    screenshot("map-items")

    editor.select("items")  # a node whose output is inline has no items section
    expect(page.get_by_role("region", name="Map items")).to_have_count(0)
