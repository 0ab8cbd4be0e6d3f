"""The console's Teams pages in Chromium: an admin creates a team with a lead, adds a
member, and the page says what it did."""

import pytest
from playwright.sync_api import expect

from apps.approvals.models import Team

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_admin_creates_a_team_and_adds_a_member(signed_in_page, live_web, create_user,
                                                   screenshot, csp_watch):
    create_user(username="ann", roles=["reviewer"])
    create_user(username="bob", roles=["reviewer"])
    page, _ = signed_in_page(roles=["admin"], username="grace")
    page.goto(f"{live_web.url}/console/teams/")
    expect(page.get_by_role("heading", name="Teams")).to_be_visible()
    expect(page.get_by_text("No teams yet.")).to_be_visible()
    page.get_by_label("Name").fill("Billing")
    page.get_by_label("Lead").select_option(label="ann")
    page.get_by_label("Description").fill("Invoices over 1,000 EUR")
    page.get_by_label("Webhook URL").fill("https://hooks.example.com/billing")
    screenshot("create")
    page.get_by_role("button", name="Create team").click()
    expect(page.get_by_role("heading", name="Team Billing")).to_be_visible()
    expect(page.locator(".flash")).to_contain_text("Team Billing was created")
    page.get_by_label("Add a member").select_option(label="bob")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator(".flash")).to_contain_text("bob joined Billing")
    expect(page.get_by_role("button", name="Remove bob")).to_be_visible()
    screenshot("members")
    team = Team.objects.get(name="Billing")
    assert sorted(team.members.values_list("username", flat=True)) == ["ann", "bob"]
    assert team.lead.username == "ann"
    assert csp_watch() == []
