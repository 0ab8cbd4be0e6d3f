"""The operations page's engine panels: the kill switch and the runs failing now."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.runs.models import EngineSwitch, NodeRun, Run
from apps.runs.services import engine_paused_reason

pytestmark = pytest.mark.django_db


def _messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def test_pause_and_resume_everything(admin_browser, create_workflow, audit_since):
    workflow = create_workflow(name="Payroll")
    paused = admin_browser.post("/console/operations/kill-switch/",
                                {"paused": "1", "reason": "bad deploy"}, follow=True)
    assert "Paused all workflows" in _messages(paused)
    assert EngineSwitch.objects.get(workflow=None).paused
    assert "bad deploy" in engine_paused_reason(workflow_id=workflow.pk)
    assert b"All workflows are paused" in paused.content
    assert b"bad deploy" in paused.content
    resumed = admin_browser.post("/console/operations/kill-switch/", {"paused": "0"},
                                 follow=True)
    assert "Resumed all workflows" in _messages(resumed)
    assert not EngineSwitch.objects.get(workflow=None).paused
    assert b"The engine is running" in resumed.content
    events = audit_since(action__startswith="engine.")
    assert [e.action for e in events] == ["engine.pause", "engine.resume"]
    assert {e.user_id for e in events} == {admin_browser.user.pk}
    assert events[0].data["reason"] == "bad deploy"


def test_pause_and_resume_one_workflow(admin_browser, create_workflow):
    workflow = create_workflow(name="Invoices")
    other = create_workflow(name="Orders")
    page = admin_browser.post("/console/operations/kill-switch/",
                              {"paused": "1", "workflow": str(workflow.pk), "reason": "vendor"},
                              follow=True)
    switch = page.context["switch"]
    assert not switch["paused"]
    assert [(w["name"], w["reason"]) for w in switch["workflows"]] == [("Invoices", "vendor")]
    assert engine_paused_reason(workflow_id=other.pk) is None
    admin_browser.post("/console/operations/kill-switch/",
                       {"paused": "0", "workflow": str(workflow.pk)})
    assert not EngineSwitch.objects.get(workflow=workflow).paused
    bad = admin_browser.post("/console/operations/kill-switch/",
                             {"paused": "1", "workflow": "not-a-uuid"}, follow=True)
    assert "No such workflow" in _messages(bad)
    assert not EngineSwitch.objects.filter(paused=True).exists()


@pytest.fixture
def finished_run(create_workflow, create_user):
    """Rows as the engine leaves them when a run finishes (made directly: this only reads)."""
    from apps.workflows.services import workflow_publish

    owner = create_user(roles=["editor"])
    workflow = create_workflow(user=owner, name="Claims")
    version = workflow_publish(workflow=workflow, user=owner)

    def make(status, *, ago=timedelta(minutes=1), node="score", error_type="http_error"):
        finished = timezone.now() - ago
        error = ({"type": error_type, "message": "upstream said 502", "node_id": node}
                 if status == "failed" else None)
        run = Run.objects.create(workflow=workflow, version=version, status=status,
                                 finished_at=finished, error=error, trace_id="t")
        NodeRun.objects.create(run=run, node_id=node, node_type="core.http", status=status,
                               error=error, finished_at=finished)
        return run

    return make


def test_runs_failing_now(admin_browser, finished_run):
    recent = [finished_run("failed"), finished_run("failed", ago=timedelta(minutes=5))]
    finished_run("succeeded")
    finished_run("failed", ago=timedelta(hours=3))  # outside the window
    page = admin_browser.get("/console/operations/")
    failing = page.context["failing"]
    assert (failing.failed, failing.finished) == (2, 3)
    assert [r.pk for r in failing.recent] == [r.pk for r in recent]
    assert [(n["node_id"], n["failures"]) for n in failing.nodes] == [("score", 2)]
    assert b"upstream said 502" in page.content
    assert b"Claims" in page.content


def test_nothing_failing(admin_browser):
    page = admin_browser.get("/console/operations/")
    assert page.context["failing"].failed == 0
    assert b"Runs failing now" in page.content
