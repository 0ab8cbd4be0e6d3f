"""Retention: finished runs past their workflow's retention are deleted in batches with
their node runs and map items, each batch audited; active runs, runs younger than their
retention, failed runs kept longer and runs an open task refers to stay. Back-dated rows,
no sleeping."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.runs.models import MapItem, NodeRun, Run
from apps.runs.retention import runs_retention_sweep
from apps.runs.services import run_start
from apps.runs.triggers import workflow_runtime_get, workflow_runtime_update
from tests.fixtures.runs import flow

pytestmark = pytest.mark.django_db

OK = flow(("start", "trigger.manual"), ("set", "test.set", {"values": {"ok": True}}),
          edges=[("start", "set")])
FAIL = flow(("start", "trigger.manual"), ("boom", "test.fail"), edges=[("start", "boom")])
SLOW = flow(("start", "trigger.manual"), ("wait", "test.sleep", {"seconds": 3600}),
            edges=[("start", "wait")])


def _age(run, days):
    Run.objects.filter(pk=run.pk).update(
        finished_at=timezone.now() - timedelta(days=days),
        created_at=timezone.now() - timedelta(days=days))


@pytest.fixture(autouse=True)
def _defaults(settings):
    settings.WEFT_RUN_RETENTION_DAYS = 30
    settings.WEFT_FAILED_RUN_RETENTION_DAYS = 90


def test_old_finished_runs_go_in_audited_batches_with_their_rows(publish, audit_since):
    workflow = publish(OK)
    old = [run_start(workflow=workflow, input={"i": i}) for i in range(5)]
    for run in old:
        _age(run, 31)
    young = run_start(workflow=workflow, input={})
    _age(young, 29)
    MapItem.objects.create(node_run=NodeRun.objects.filter(run=old[0]).first(), index=0)
    totals = runs_retention_sweep(batch=2)
    assert totals == {"batches": 3, "runs": 5, "node_runs": 10, "map_items": 1}
    assert list(Run.objects.values_list("pk", flat=True)) == [young.pk]
    events = audit_since(action="runs.retention")
    assert [e.data["runs"] for e in events] == [2, 2, 1]
    assert events[0].data["node_runs"] == 4
    assert runs_retention_sweep(batch=2)["runs"] == 0


def test_failed_runs_are_kept_longer_and_a_workflow_sets_its_own(publish):
    failing, kept = publish(FAIL, name="Failing"), publish(OK, name="Kept a year")
    failed = run_start(workflow=failing, input={})
    _age(failed, 60)
    long_lived = run_start(workflow=kept, input={})
    _age(long_lived, 200)
    workflow_runtime_update(workflow=kept, retention_days=365)
    runs_retention_sweep()
    assert Run.objects.filter(pk__in=[failed.pk, long_lived.pk]).count() == 2
    _age(failed, 91)
    runs_retention_sweep()
    assert not Run.objects.filter(pk=failed.pk).exists()
    assert Run.objects.filter(pk=long_lived.pk).exists()


def test_active_runs_and_runs_with_an_open_task_stay(publish, start_review, create_team,
                                                     create_user):
    active = run_start(workflow=publish(SLOW), input={})
    Run.objects.filter(pk=active.pk).update(created_at=timezone.now() - timedelta(days=99))
    create_team(name="Billing", members=[create_user(roles=["reviewer"])])
    task = start_review()
    run = task.run
    Run.objects.filter(pk=run.pk).update(status="failed",
                                         finished_at=timezone.now() - timedelta(days=400))
    runs_retention_sweep()
    assert Run.objects.filter(pk__in=[active.pk, run.pk]).count() == 2


def test_a_retention_of_minus_one_is_refused_naming_the_field(editor_client, publish):
    workflow = publish(OK)
    for field in ("retention_days", "failed_retention_days"):
        response = editor_client.patch(f"/api/workflows/{workflow.pk}/runtime/", {field: -1},
                                       format="json")
        assert response.status_code == 400
        assert field in response.data["errors"]
    assert workflow_runtime_get(workflow=workflow).retention_days is None
    ok = editor_client.patch(f"/api/workflows/{workflow.pk}/runtime/",
                             {"retention_days": 7, "failed_retention_days": 60}, format="json")
    assert ok.data["retention_days"] == 7


def test_a_run_goes_with_its_child_runs_and_closed_tasks(publish, start_review, create_team,
                                                        create_user):
    from apps.approvals.models import Task

    create_team(name="Billing", members=[create_user(roles=["reviewer"])])
    task = start_review()
    Task.objects.filter(pk=task.pk).update(status="approved")
    parent = task.run
    child = run_start(workflow=publish(OK), input={})
    Run.objects.filter(pk=child.pk).update(parent_run=parent)
    Run.objects.filter(pk=parent.pk).update(status="succeeded",
                                            finished_at=timezone.now() - timedelta(days=31))
    totals = runs_retention_sweep()
    assert totals["runs"] == 2
    assert not Run.objects.filter(pk__in=[parent.pk, child.pk]).exists()
    assert not Task.objects.filter(pk=task.pk).exists()
