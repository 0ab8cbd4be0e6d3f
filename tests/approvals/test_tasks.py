"""Human review through the engine and the API, on PostgreSQL: a run reaches the approval
node -> a task exists (created with the waiting node run) -> decisions through the API ->
the run goes on from the right port with the decision as output."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from apps.approvals import services
from apps.approvals.models import Task, TaskEvent
from apps.audit.models import AuditEvent
from apps.runs import services as runs
from apps.runs.models import NodeRun, Run

FORM = {"type": "object", "required": ["total"],
        "properties": {"total": {"type": "number", "minimum": 0},
                       "vendor": {"type": "string", "maxLength": 50}}}


@pytest.fixture
def sweep(django_capture_on_commit_callbacks):
    """The approvals sweep, with what follows its commits (e-mails) done."""

    def run():
        with django_capture_on_commit_callbacks(execute=True):
            return services.tasks_sweep()

    return run


@pytest.fixture
def billing(create_user, create_team):
    """Two reviewers in Billing; an outsider who reviews for nobody here."""
    ann = create_user(username="ann", roles=["reviewer"])
    bob = create_user(username="bob", roles=["reviewer"])
    team = create_team(name="Billing", members=[ann, bob])
    return {"team": team, "ann": ann, "bob": bob,
            "outsider": create_user(username="eve", roles=["reviewer"])}


def _node(task, node_id):
    return NodeRun.objects.filter(run_id=task.run_id, node_id=node_id).order_by(
        "-attempt").first()


def test_a_run_waits_on_a_task_created_with_its_node_run(start_review, billing, sweep):
    task = start_review(input={"number": "INV-7", "total": 120.5},
                        context=[{"label": "Total", "expression": "input.total"},
                                 {"label": "Number", "expression": "input.number"}],
                        instructions="Check {{ input.number }} against the PO.")
    assert task.title == "Invoice INV-7"
    assert task.instructions == "Check INV-7 against the PO."
    assert task.context == [{"label": "Total", "value": 120.5, "kind": "number"},
                            {"label": "Number", "value": "INV-7", "kind": "text"}]
    assert _node(task, "review").status == "waiting"
    assert Run.objects.get(pk=task.run_id).status == "waiting"
    assert list(task.assignee_teams.values_list("name", flat=True)) == ["Billing"]
    assert TaskEvent.objects.filter(task=task, kind="created").exists()
    assert AuditEvent.objects.filter(action="task.created", target_id=str(task.pk)).exists()
    # The assignees are told, with a link to the task, by the sweep (off the run's path).
    assert mail.outbox == []
    assert sweep()["emails"] == 2
    assert {m.to[0] for m in mail.outbox} == {"ann@example.com", "bob@example.com"}
    assert f"/inbox/{task.pk}/" in mail.outbox[0].body


def test_approve_with_a_corrected_form_resumes_on_the_approved_port(
        start_review, billing, client_for):
    task = start_review(input={"number": "INV-8", "total": 99, "vendor": "ACME"},
                        form_schema=FORM,
                        form_values={"total": "input.total", "vendor": "input.vendor"})
    assert task.form_values == {"total": 99, "vendor": "ACME"}
    ann = client_for(user=billing["ann"])
    listed = ann.get("/api/tasks/?tab=team").json()
    assert [t["id"] for t in listed["results"]] == [str(task.pk)]
    assert listed["counts"]["team"] == 1
    assert ann.post(f"/api/tasks/{task.pk}/claim/").json()["claimed_by"]["username"] == "ann"
    response = ann.post(f"/api/tasks/{task.pk}/decide/",
                        {"decision": "approved", "comment": "Total fixed",
                         "form": {"total": 95}}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "approved"
    review = _node(task, "review")
    assert review.status == "succeeded"
    output = review.outputs["approved"]
    assert (output["decision"], output["comment"], output["decided_by"]) == (
        "approved", "Total fixed", "ann")
    assert output["form"] == {"total": 95, "vendor": "ACME"}
    assert output["task_id"] == str(task.pk)
    assert _node(task, "ok").status == "succeeded"
    assert _node(task, "no").status == "skipped"
    assert Run.objects.get(pk=task.run_id).status == "succeeded"
    decided = AuditEvent.objects.get(action="task.decided", target_id=str(task.pk))
    assert decided.user_id == billing["ann"].pk  # the reviewer is the actor
    assert decided.data["form_changes"] == {"total": {"from": 99, "to": 95}}
    # A second decision, by anyone, is refused and names who decided.
    again = client_for(user=billing["bob"]).post(
        f"/api/tasks/{task.pk}/decide/", {"decision": "rejected", "comment": "no"},
        format="json")
    assert again.status_code == 409
    assert (again.json()["code"], again.json()["decided_by"]) == ("already_decided", "ann")


def test_reject_takes_the_rejected_port(start_review, billing, client_for):
    task = start_review()
    bob = client_for(user=billing["bob"])
    assert bob.post(f"/api/tasks/{task.pk}/decide/", {"decision": "rejected",
                                                     "comment": "Duplicate"},
                    format="json").status_code == 200
    assert _node(task, "review").outputs["rejected"]["comment"] == "Duplicate"
    assert _node(task, "no").status == "succeeded"
    assert _node(task, "ok").status == "skipped"


@pytest.mark.parametrize(("body", "field"), [
    ({"decision": "maybe"}, "decision"),
    ({"decision": "rejected", "comment": "  "}, "comment"),
    ({"decision": "approved", "form": {"total": -5}}, "form.total"),
    ({"decision": "approved", "form": {"total": "a lot"}}, "form.total"),
])
def test_bad_decisions_are_refused_naming_the_field_and_change_nothing(
        start_review, billing, client_for, body, field):
    task = start_review(form_schema=FORM, form_values={"total": "100"})
    response = client_for(user=billing["ann"]).post(f"/api/tasks/{task.pk}/decide/", body,
                                                    format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    task.refresh_from_db()
    assert task.status == "open"
    assert not task.votes.exists()
    assert _node(task, "review").status == "waiting"


def test_only_assignees_their_teams_and_admins_see_a_task(start_review, billing, client_for):
    task = start_review()
    outsider = client_for(user=billing["outsider"])
    assert outsider.get(f"/api/tasks/{task.pk}/").status_code == 404
    assert outsider.post(f"/api/tasks/{task.pk}/decide/",
                         {"decision": "approved"}, format="json").status_code == 404
    assert outsider.get("/api/tasks/?tab=team").json()["results"] == []
    assert client_for("admin").get(f"/api/tasks/{task.pk}/").status_code == 200
    task.refresh_from_db()
    assert task.status == "open"


def test_each_tab_counts_what_its_pages_list(start_review, billing, client_for):
    tasks = [start_review(input={"number": f"INV-{n}"}) for n in range(3)]
    ann = client_for(user=billing["ann"])
    assert ann.post(f"/api/tasks/{tasks[0].pk}/claim/").status_code == 200
    for tab, expected in (("mine", 1), ("team", 2)):
        first = ann.get(f"/api/tasks/?tab={tab}&page_size=1").json()
        assert first["count"] == first["counts"][tab] == expected
        listed, page = list(first["results"]), first
        while page["next"]:
            page = ann.get(page["next"]).json()
            listed += page["results"]
        assert len(listed) == expected
    # A search narrows the count as well as the rows; the tab's count stays the tab's.
    found = ann.get("/api/tasks/?tab=team&search=inv-2").json()
    assert (found["count"], len(found["results"]), found["counts"]["team"]) == (1, 1, 2)


def test_n_of_m_needs_n_approvals_and_one_vote_per_person(
        start_review, create_user, client_for):
    reviewers = [create_user(username=f"r{n}", roles=["reviewer"]) for n in range(3)]
    task = start_review(assignee_teams=[], assignee_users=[u.username for u in reviewers],
                        decisions_needed="quorum", quorum=2)
    first = client_for(user=reviewers[0])
    assert first.post(f"/api/tasks/{task.pk}/decide/", {"decision": "approved"},
                      format="json").json()["status"] == "open"
    twice = first.post(f"/api/tasks/{task.pk}/decide/", {"decision": "approved"},
                       format="json")
    assert (twice.status_code, twice.json()["code"]) == (409, "already_voted")
    assert _node(task, "review").status == "waiting"
    assert client_for(user=reviewers[1]).post(
        f"/api/tasks/{task.pk}/decide/", {"decision": "approved"},
        format="json").json()["status"] == "approved"
    assert _node(task, "ok").status == "succeeded"
    late = client_for(user=reviewers[2]).post(f"/api/tasks/{task.pk}/decide/",
                                              {"decision": "approved"}, format="json")
    assert late.status_code == 409


def test_all_of_them_is_rejected_by_any_one(start_review, create_user, client_for):
    reviewers = [create_user(username=f"a{n}", roles=["reviewer"]) for n in range(2)]
    task = start_review(assignee_teams=[], assignee_users=[u.username for u in reviewers],
                        decisions_needed="all")
    client_for(user=reviewers[0]).post(f"/api/tasks/{task.pk}/decide/",
                                       {"decision": "approved"}, format="json")
    client_for(user=reviewers[1]).post(f"/api/tasks/{task.pk}/decide/",
                                       {"decision": "rejected", "comment": "No PO"},
                                       format="json")
    task.refresh_from_db()
    assert task.status == "rejected"
    assert _node(task, "no").status == "succeeded"


def test_who_started_the_run_cannot_decide_when_duties_are_separated(
        start_review, create_user, create_team, client_for):
    builder = create_user(username="builder", roles=["editor", "reviewer"])
    create_team(name="Billing", members=[builder])
    task = start_review(user=builder, forbid_self_approval=True)
    response = client_for(user=builder).post(f"/api/tasks/{task.pk}/decide/",
                                             {"decision": "approved"}, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "self_approval")
    assert Task.objects.get(pk=task.pk).status == "open"


def test_cancelling_the_run_cancels_its_task_and_refuses_a_decision(
        start_review, billing, client_for):
    task = start_review()
    runs.run_cancel(run=Run.objects.get(pk=task.run_id))
    task.refresh_from_db()
    assert task.status == "cancelled"
    assert task.history.filter(kind="cancelled").exists()
    response = client_for(user=billing["ann"]).post(f"/api/tasks/{task.pk}/decide/",
                                                    {"decision": "approved"}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "task_cancelled")


def _due_now(task, field):
    """Back-date the task's due time (never sleep): it is due at PostgreSQL's now()."""
    Task.objects.filter(pk=task.pk).update(**{field: timezone.now() - timedelta(hours=1)})


def test_overdue_escalates_to_a_second_team_then_rejects(
        sweep, start_review, billing, create_user, create_team, client_for):
    lead = create_user(username="lead2", roles=["reviewer"])
    tier2 = create_team(name="Tier 2", members=[lead], lead=lead)
    task = start_review(due_in="4h", when_overdue=[
        {"after": "0m", "action": "escalate", "team": "Tier 2"},
        {"after": "1d", "action": "reject"}])
    assert task.due_at is not None
    assert task.next_step_at == task.due_at
    sweep()  # the assignment's e-mails
    mail.outbox.clear()
    _due_now(task, "next_step_at")
    assert sweep()["escalated"] == 1
    task.refresh_from_db()
    assert list(task.assignee_teams.all()) == [tier2]
    assert task.history.filter(kind="escalated").exists()
    assert [m.to for m in mail.outbox] == [["lead2@example.com"]]
    assert "Escalated" in mail.outbox[0].subject
    # Billing no longer sees it; Tier 2 does.
    assert client_for(user=billing["ann"]).get(f"/api/tasks/{task.pk}/").status_code == 404
    assert client_for(user=lead).get(f"/api/tasks/{task.pk}/").status_code == 200
    assert task.next_step_at == task.due_at + timedelta(days=1)
    assert sweep()["escalated"] == 0  # not due yet
    _due_now(task, "next_step_at")
    assert sweep()["expired"] == 1
    task.refresh_from_db()
    assert (task.status, task.decided_by) == ("rejected", None)
    assert _node(task, "review").outputs["rejected"]["comment"].startswith(
        "Decided automatically")
    assert _node(task, "no").status == "succeeded"


def test_a_follow_up_sends_a_reminder_e_mail(sweep, start_review, billing):
    task = start_review(follow_up_in="2h", due_in="1d")
    sweep()
    mail.outbox.clear()
    _due_now(task, "follow_up_at")
    assert sweep()["reminded"] == 1
    assert sorted(m.to[0] for m in mail.outbox) == ["ann@example.com", "bob@example.com"]
    assert mail.outbox[0].subject.startswith("Reminder: Invoice INV-1")
    assert sweep()["reminded"] == 0  # once


def test_reviewers_can_turn_e_mails_off(start_review, billing, client_for, sweep):
    assert client_for(user=billing["bob"]).put("/api/me/notifications/",
                                               {"email_enabled": False},
                                               format="json").json() == {
        "email_enabled": False}
    start_review()
    sweep()
    assert [m.to for m in mail.outbox] == [["ann@example.com"]]


def test_time_waiting_on_a_person_does_not_count_toward_the_run_timeout(
        start_review, billing, client_for):
    task = start_review()
    run = Run.objects.get(pk=task.run_id)
    past = timezone.now() - timedelta(minutes=5)
    Run.objects.filter(pk=run.pk).update(deadline_at=past)
    runs.runs_sweep()
    assert Run.objects.get(pk=run.pk).status == "waiting"  # not failed while it waits
    # The wait started an hour ago: the deadline moves on by that much when it resumes.
    NodeRun.objects.filter(pk=task.node_run_id).update(
        started_at=timezone.now() - timedelta(hours=1))
    client_for(user=billing["ann"]).post(f"/api/tasks/{task.pk}/decide/",
                                         {"decision": "approved"}, format="json")
    run.refresh_from_db()
    assert run.status == "succeeded"


def test_a_decided_task_whose_resume_was_lost_is_resumed_by_the_sweep(
        sweep, start_review, billing):
    task = start_review()
    # As if the deciding process died between the decision's commit and the resume.
    Task.objects.filter(pk=task.pk).update(status="approved", decision="approved",
                                           decided_at=timezone.now())
    assert _node(task, "review").status == "waiting"
    assert sweep()["resumed"] == 1
    assert _node(task, "ok").status == "succeeded"


def test_teams_api(client_for, create_user):
    admin = client_for("admin")
    ann = create_user(username="ann2", roles=["reviewer"])
    created = admin.post("/api/teams/", {"name": "Support tier 2", "members": [ann.pk],
                                         "lead": ann.pk}, format="json")
    assert created.status_code == 201, created.json()
    team = created.json()
    assert team["lead"]["username"] == "ann2"
    assert [m["username"] for m in team["members"]] == ["ann2"]
    duplicate = admin.post("/api/teams/", {"name": "support TIER 2"}, format="json")
    assert duplicate.status_code == 409
    bad = admin.post("/api/teams/", {"name": "X", "members": [999999]}, format="json")
    assert (bad.status_code, list(bad.json()["errors"])) == (400, ["members"])
    reviewer = client_for("reviewer")
    assert reviewer.get("/api/teams/").json()["count"] == 1
    assert reviewer.post("/api/teams/", {"name": "Mine"}, format="json").status_code == 403
