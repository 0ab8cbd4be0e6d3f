"""GET /api/templates/: the gallery, with the teams each template still needs."""

from __future__ import annotations

import pytest

from apps.templates import templates_load

pytestmark = pytest.mark.django_db


def test_gallery_lists_every_template_and_the_missing_teams(client_for, create_team, create_user):
    create_team(name="Billing", members=[create_user(roles=["reviewer"])])
    create_team(name="Claims")  # no members yet: still missing
    response = client_for("viewer").get("/api/templates/")
    assert response.status_code == 200
    gallery = {t["slug"]: t for t in response.data}
    assert set(gallery) == {t.slug for t in templates_load()}
    invoice = gallery["invoice_review"]
    assert invoice["teams"] == ["Billing"]
    assert invoice["missing_teams"] == []
    assert gallery["insurance_claim_triage"]["missing_teams"] == ["Claims", "Claims supervisors"]
    assert invoice["sample_input"]["number"] == "INV-2026-0042"
    assert {n["id"] for n in invoice["graph"]["nodes"]} >= {"score", "review", "post"}


def test_a_draft_from_a_template_names_the_missing_team(editor_client):
    template = next(t for t in templates_load() if t.slug == "support_ticket_escalation")
    created = editor_client.post("/api/workflows/", {"name": template.name,
                                                     "graph": template.graph}, format="json")
    assert created.status_code == 201  # an ordinary draft, saved with its problems
    tried = editor_client.post(f"/api/workflows/{created.data['id']}/test-runs/",
                               {"input": template.sample_input}, format="json")
    assert tried.status_code == 400
    assert "there is no team 'Support tier 2'" in str(tried.data)


def test_the_gallery_offers_a_free_name_for_each_template(editor_client):
    template = next(t for t in templates_load() if t.slug == "support_ticket_escalation")

    def free_name() -> str:
        gallery = editor_client.get("/api/templates/").data
        return next(t["free_name"] for t in gallery if t["slug"] == template.slug)

    def create(name: str):
        return editor_client.post("/api/workflows/", {"name": name, "graph": template.graph},
                                  format="json")

    assert free_name() == "Support ticket escalation"
    first = create(free_name())
    assert first.status_code == 201
    assert free_name() == "Support ticket escalation (copy)"  # a second draft can be made
    second = create(free_name())
    assert second.status_code == 201
    assert free_name() == "Support ticket escalation (copy 2)"
    taken = create("support ticket  ESCALATION")  # a name the user typed that is taken
    assert taken.status_code == 409
    assert "Support ticket escalation" in str(taken.data)
    assert editor_client.delete(f"/api/workflows/{first.data['id']}/").status_code == 204
    assert free_name() == "Support ticket escalation"  # deleted workflows do not count


def test_demo_data_creates_the_teams_the_templates_need(client_for):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("weft_seed_demo", stdout=out)
    assert "Support tier 2" in out.getvalue()
    gallery = client_for("viewer").get("/api/templates/").data
    assert [t["missing_teams"] for t in gallery] == [[]] * len(gallery)
    call_command("weft_seed_demo", stdout=StringIO())  # a second time changes nothing


def test_demo_data_sets_up_the_invoice_receiver(client_for):
    from io import StringIO

    from django.core.management import call_command

    from apps.runs.triggers import workflow_runtime_get
    from apps.variables.models import Variable
    from apps.workflows.models import Workflow

    call_command("weft_seed_demo", stdout=StringIO())
    receiver = Workflow.objects.get(name="Accounting (demo receiver)")
    assert receiver.versions.count() == 1  # published: its webhook takes posts
    secret = workflow_runtime_get(workflow=receiver).webhook_secret
    assert Variable.objects.get(name="invoice_receiver_url").value == (
        f"http://127.0.0.1:8000/hooks/{secret}/")
    Variable.objects.filter(name="invoice_receiver_url").update(value="https://books.example/")
    call_command("weft_seed_demo", stdout=StringIO())  # a value someone set is kept
    assert Variable.objects.get(name="invoice_receiver_url").value == "https://books.example/"
