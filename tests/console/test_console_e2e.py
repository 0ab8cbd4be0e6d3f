"""The console in a real Chromium: sign in, filter, open an event, verify the chain."""

import shutil

import pytest

from apps.audit.actors import Actor, Target
from apps.audit.services import audit_record
from tests.fixtures.accounts import PASSWORD

CHROMIUM = shutil.which("chromium")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
]


@pytest.mark.django_db(transaction=True)
def test_an_admin_filters_opens_and_verifies(live_server, create_user):
    from playwright.sync_api import expect, sync_playwright

    create_user(username="grace", roles=["admin"])
    audit_record(action="inference.call", actor=Actor.model("invoice-classifier", 3),
                 target=Target("run", "r-1", "Invoice run 1"),
                 data={"label": "approve", "score": 0.83})
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        try:
            page = browser.new_page()
            page.goto(f"{live_server.url}/console/audit/")
            expect(page).to_have_url(f"{live_server.url}/login/?next=/console/audit/")
            page.fill("#id_username", "grace")
            page.fill("#id_password", PASSWORD)
            page.click("button[type=submit]")
            expect(page.locator("h1")).to_have_text("Audit log")
            page.fill("#f-q", "approve")
            page.click("button:has-text('Filter')")
            rows = page.locator("table.audit tbody tr")
            expect(rows).to_have_count(1)
            expect(rows.first).to_contain_text("invoice-classifier v3")
            rows.first.locator("a").first.click()
            expect(page.locator(".hashes")).to_contain_text("matches the content")
            page.click("text=Audit log >> nth=0")
            page.click("button:has-text('Verify chain')")
            expect(page.locator(".flash")).to_contain_text("Chain valid")
            expect(page.locator(".chain-status")).to_contain_text("Chain verified")
        finally:
            browser.close()
