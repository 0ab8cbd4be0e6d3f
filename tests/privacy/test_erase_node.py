"""The `privacy.erase` node: a workflow erases a person's values from stored runs, no
further than the person who answers for its version could in the console (an admin
everywhere; an editor only in the workflow's own runs); the run that erases keeps the
values for its later steps and loses them when it ends; the audit log shows the
workflow as the actor and only a keyed hash of each value."""

from __future__ import annotations

import json

import pytest
from django.core import mail

from apps.audit.models import AuditEvent
from apps.audit.personal import ERASED
from apps.runs import services as runs
from apps.runs.models import NodeRun, Run
from tests.fixtures.runs import ITEM_FLOW, node_execute, node_row
from tests.fixtures.workflows import flow

pytestmark = pytest.mark.django_db

EMAIL = "ada.lovelace@example.com"


def _eraser(values: str = "run.input.email", scope: str = "everywhere") -> dict:
    """start -> erase -> tell (an e-mail to the person, after the erase)."""
    return flow(("start", "trigger.manual"),
                ("erase", "privacy.erase", {"values": values, "scope": scope}),
                ("tell", "notify.email", {"to": ["{{ run.input.email }}"],
                                          "subject": "Your data is erased"}),
                edges=[("start", "erase"), ("erase", "tell")])


def _stored(run: Run) -> str:
    """Everything stored of a run: its row and its node runs."""
    run.refresh_from_db()
    rows = list(NodeRun.objects.filter(run=run).values("inputs", "outputs", "error", "state"))
    return json.dumps([run.input, run.response, run.search_terms, rows])


def _erased_everywhere(run, execute):
    with execute(execute=True):
        assert node_execute(run, "erase") == "succeeded"
        assert node_execute(run, "tell") == "succeeded"


def test_an_admins_workflow_erases_every_run_holding_the_value_then_its_own(
        publish, create_user, django_capture_on_commit_callbacks):
    elsewhere = runs.run_start(workflow=publish(ITEM_FLOW, name="Support"),
                               input={"customer": {"email": EMAIL, "plan": "premium"}})
    unrelated = runs.run_start(workflow=publish(ITEM_FLOW, name="Billing"),
                               input={"customer": {"email": "bob@example.com"}})
    workflow = publish(_eraser(), user=create_user(roles=["admin"]))
    run = runs.run_start(workflow=workflow, input={"email": EMAIL})

    _erased_everywhere(run, django_capture_on_commit_callbacks)

    assert EMAIL not in _stored(elsewhere)
    assert elsewhere.input["customer"] == {"email": ERASED, "plan": "premium"}
    assert "bob@example.com" in _stored(unrelated)
    # The step after the erase still wrote to the person; once the run ended, the run
    # itself no longer holds the address (input, the e-mail step's output).
    assert [m.to for m in mail.outbox] == [[EMAIL]]
    assert Run.objects.get(pk=run.pk).status == "succeeded"
    assert EMAIL not in _stored(run)
    assert node_row(run, "erase").outputs["out"] == {
        "runs": 1, "node_runs": 2, "map_items": 0, "tasks": 0, "values": 1,
        "scope": "everywhere"}
    events = list(AuditEvent.objects.filter(action="personal_data.erase").order_by("seq"))
    assert [e.data["scope"] for e in events] == ["everywhere", "this run, when it ended"]
    assert {(e.actor_type, e.actor_id) for e in events} == {
        ("system", f"workflow:{workflow.pk}")}
    assert len(events[0].data["value_hash"]) == 64
    assert events[0].data["value_hash"] == events[1].data["value_hash"]
    assert EMAIL not in json.dumps([e.data for e in AuditEvent.objects.all()])


def test_an_editor_cannot_erase_in_other_workflows(publish, create_user):
    elsewhere = runs.run_start(workflow=publish(ITEM_FLOW, name="Support"),
                               input={"email": EMAIL})
    editor = create_user(roles=["editor"], username="eddie")
    run = runs.run_start(workflow=publish(_eraser(), user=editor), input={"email": EMAIL})

    assert node_execute(run, "erase") == "failed"

    error = node_row(run, "erase").error
    assert error["type"] == "not_permitted"
    assert "needs the role 'admin'" in error["message"]
    assert "eddie" in error["message"]
    assert EMAIL in _stored(elsewhere)
    assert not AuditEvent.objects.filter(action="personal_data.erase").exists()
    assert mail.outbox == []


def test_an_admin_demoted_after_publishing_no_longer_erases_everywhere(publish, create_user):
    admin = create_user(roles=["admin"])
    run = runs.run_start(workflow=publish(_eraser(), user=admin), input={"email": EMAIL})
    admin.groups.clear()
    admin.groups.add(*create_user(roles=["editor"]).groups.all())

    assert node_execute(run, "erase") == "failed"
    assert node_row(run, "erase").error["type"] == "not_permitted"


def test_an_editor_erases_in_the_workflows_own_runs_only(publish, create_user,
                                                       django_capture_on_commit_callbacks):
    elsewhere = runs.run_start(workflow=publish(ITEM_FLOW, name="Support"),
                               input={"email": EMAIL})
    workflow = publish(_eraser(scope="workflow"), user=create_user(roles=["editor"]))
    earlier = runs.run_start(workflow=workflow, input={"email": EMAIL})
    run = runs.run_start(workflow=workflow, input={"email": EMAIL})

    _erased_everywhere(run, django_capture_on_commit_callbacks)

    assert EMAIL not in _stored(earlier)
    assert EMAIL not in _stored(run)
    assert EMAIL in _stored(elsewhere)


@pytest.mark.parametrize(("values", "problem"), [
    ("[run.input.email, 'ab']", "Value 2 of 'Values to erase' is 2 characters long"),
    ("[run.input.email, 42]", "Value 2 of 'Values to erase' is not text"),
    ("[]", "gave an empty list"),
])
def test_values_too_short_or_not_text_erase_nothing(values, problem, publish, create_user):
    elsewhere = runs.run_start(workflow=publish(ITEM_FLOW, name="Support"),
                               input={"email": EMAIL})
    workflow = publish(_eraser(values=values), user=create_user(roles=["admin"]))
    run = runs.run_start(workflow=workflow, input={"email": EMAIL})

    assert node_execute(run, "erase") == "failed"

    assert problem in node_row(run, "erase").error["message"]
    assert EMAIL in _stored(elsewhere)
    assert not AuditEvent.objects.filter(action="personal_data.erase").exists()


def test_an_erase_refused_and_carried_on_by_its_policy_leaves_every_run_as_it_was(
        publish, create_user, django_capture_on_commit_callbacks):
    """Continuing on the 'On error' port is not erasing: the refused erase changes no
    other run, and the run that asked keeps the person's values when it ends."""
    elsewhere = runs.run_start(workflow=publish(ITEM_FLOW, name="Support"),
                               input={"email": EMAIL})
    graph = _eraser()
    graph["nodes"][1]["config"]["policy"] = {"on_error": "error_port"}
    graph["edges"][1]["source_port"] = "error"  # tell the person it could not be done
    run = runs.run_start(workflow=publish(graph, user=create_user(roles=["editor"])),
                         input={"email": EMAIL})

    _erased_everywhere(run, django_capture_on_commit_callbacks)

    assert node_row(run, "erase").error["type"] == "not_permitted"
    assert node_row(run, "tell").inputs["in"]["type"] == "not_permitted"
    assert Run.objects.get(pk=run.pk).status == "succeeded"
    assert EMAIL in _stored(elsewhere)
    assert Run.objects.get(pk=run.pk).input == {"email": EMAIL}
    assert not AuditEvent.objects.filter(action="personal_data.erase").exists()
