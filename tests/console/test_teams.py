"""The console's Teams pages: admins create, edit and delete reviewer teams and manage
their members; every change goes through the approvals services (and the audit log)."""

import pytest

from apps.approvals.models import Team

pytestmark = pytest.mark.django_db


def test_create_a_team_with_a_lead_who_becomes_a_member(admin_browser, create_user,
                                                       audit_since):
    ann = create_user(username="ann", roles=["reviewer"])
    response = admin_browser.post("/console/teams/", {
        "name": " Billing ", "description": "Invoices", "lead": ann.pk,
        "webhook_url": "https://hooks.example.com/billing"})
    team = Team.objects.get(name="Billing")
    assert response.status_code == 302
    assert response["Location"] == f"/console/teams/{team.pk}/"
    assert (team.lead, team.webhook_url) == (ann, "https://hooks.example.com/billing")
    assert list(team.members.all()) == [ann]
    assert audit_since(action="team.create")[0].user_id == admin_browser.user.pk
    page = admin_browser.get("/console/teams/")
    assert b"Billing" in page.content
    assert b"Invoices" in page.content


def test_bad_input_names_the_field_and_changes_nothing(admin_browser, create_team):
    create_team(name="Billing")
    response = admin_browser.post("/console/teams/", {"name": "billing"})
    assert response.status_code == 400
    assert b"A team with this name exists." in response.content
    response = admin_browser.post("/console/teams/", {"name": "Ops", "webhook_url": "ftp://x"})
    assert response.status_code == 400
    assert b"Enter a valid URL." in response.content
    assert list(Team.objects.values_list("name", flat=True)) == ["Billing"]


def test_edit_a_team_and_its_members(admin_browser, create_team, create_user, audit_since):
    ann = create_user(username="ann", roles=["reviewer"])
    bob = create_user(username="bob", roles=["reviewer"])
    team = create_team(name="Billing", members=[ann])
    page = admin_browser.get(f"/console/teams/{team.pk}/")
    assert page.status_code == 200
    assert b"ann" in page.content

    response = admin_browser.post(f"/console/teams/{team.pk}/", {
        "name": "Billing EU", "description": "", "lead": bob.pk, "webhook_url": ""})
    assert response.status_code == 302
    team.refresh_from_db()
    assert (team.name, team.lead) == ("Billing EU", bob)
    assert set(team.members.all()) == {ann, bob}

    carl = create_user(username="carl", roles=["reviewer"])
    admin_browser.post(f"/console/teams/{team.pk}/members/", {"user": carl.pk})
    assert carl in team.members.all()
    admin_browser.post(f"/console/teams/{team.pk}/members/{ann.pk}/remove/")
    assert set(team.members.all()) == {bob, carl}
    # The lead stays until another is chosen.
    response = admin_browser.post(f"/console/teams/{team.pk}/members/{bob.pk}/remove/",
                                  follow=True)
    assert b"choose another lead first" in response.content
    assert bob in team.members.all()
    assert [e.data["member"] for e in audit_since(action__startswith="team.member")] == [
        "carl", "ann"]


def test_delete_a_team_unless_it_has_open_tasks(admin_browser, create_team, start_review,
                                                create_user):
    busy = create_team(name="Billing", members=[create_user(roles=["reviewer"])])
    start_review(assignee_teams=["Billing"])
    response = admin_browser.post(f"/console/teams/{busy.pk}/delete/", follow=True)
    assert b"open task(s)" in response.content
    assert Team.objects.filter(pk=busy.pk).exists()
    idle = create_team(name="Idle")
    response = admin_browser.post(f"/console/teams/{idle.pk}/delete/")
    assert response.status_code == 302
    assert not Team.objects.filter(pk=idle.pk).exists()
