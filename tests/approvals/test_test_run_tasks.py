"""Tasks of a test run of the draft: they go to the builder who started the run (not the
configured reviewers), are marked as tests, send no notification, are decided by the
builder (from the run panel, through the tasks API) and skip forbid_self_approval."""

import pytest

from apps.approvals.models import Notification, Task
from apps.runs.models import NodeRun
from tests.fixtures.approvals import approval_flow

pytestmark = pytest.mark.django_db


def _test_run(editor_client, create_workflow, django_capture_on_commit_callbacks, **config):
    graph = approval_flow(**config)
    graph["nodes"][0]["config"] = {"sample_input": {"number": "INV-7"}}
    workflow = create_workflow(user=editor_client.user, graph=graph)
    with django_capture_on_commit_callbacks(execute=True):
        created = editor_client.post(f"/api/workflows/{workflow.pk}/test-runs/", {},
                                     format="json")
    assert created.status_code == 201, created.data
    return created.data, Task.objects.get(run_id=created.data["id"])


def test_a_test_runs_task_goes_to_its_builder_marked_as_a_test_without_notifications(
        editor_client, create_workflow, create_team, create_user,
        django_capture_on_commit_callbacks):
    reviewer = create_user(roles=["reviewer"])
    create_team(name="Billing", members=[reviewer])
    run, task = _test_run(editor_client, create_workflow, django_capture_on_commit_callbacks,
                          assignee_users=[reviewer.username], decisions_needed="all")
    assert run["status"] == "waiting"
    assert task.is_test
    assert task.title == "Invoice INV-7"
    assert list(task.assignee_users.all()) == [editor_client.user]
    assert not task.assignee_teams.exists()
    assert not Notification.objects.filter(task=task).exists()
    # The configured reviewer does not get it; the builder sees it, marked as a test.
    reviewer_view = editor_client.__class__()
    reviewer_view.force_authenticate(reviewer)
    assert reviewer_view.get(f"/api/tasks/{task.pk}/").status_code == 404
    mine = editor_client.get(f"/api/tasks/{task.pk}/")
    assert mine.status_code == 200
    assert mine.data["is_test"] is True


def test_the_builder_decides_it_even_with_forbid_self_approval_and_the_run_goes_on(
        editor_client, create_workflow, create_team, create_user,
        django_capture_on_commit_callbacks):
    create_team(name="Billing", members=[create_user(roles=["reviewer"])])
    run, task = _test_run(editor_client, create_workflow, django_capture_on_commit_callbacks,
                          forbid_self_approval=True)
    with django_capture_on_commit_callbacks(execute=True):
        decided = editor_client.post(f"/api/tasks/{task.pk}/decide/",
                                     {"decision": "approved"}, format="json")
    assert decided.status_code == 200, decided.data
    done = editor_client.get(f"/api/runs/{run['id']}/").data
    assert done["status"] == "succeeded"
    assert NodeRun.objects.get(run_id=run["id"], node_id="ok").status == "succeeded"
    assert NodeRun.objects.get(run_id=run["id"], node_id="no").status == "skipped"


def test_a_production_runs_task_still_goes_to_its_reviewers(start_review, create_team,
                                                             create_user):
    reviewer = create_user(roles=["reviewer"])
    create_team(name="Billing", members=[reviewer])
    task = start_review()
    assert not task.is_test
    assert task.assignee_teams.get().name == "Billing"
    assert Notification.objects.filter(task=task).exists()
