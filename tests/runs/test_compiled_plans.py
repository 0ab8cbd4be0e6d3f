"""A process keeps each version's compiled plan (versions are immutable). Ids start again
when the database is emptied (`manage.py flush`, a restore): a process that lived through
it must run the new version's graph, never the plan it kept under the same id."""

import pytest
from django.core.management import call_command

from apps.runs import services
from apps.runs.models import NodeRun
from apps.workflows.models import WorkflowVersion
from tests.fixtures.runs import flow

pytestmark = pytest.mark.django_db(transaction=True)


def _nodes(run) -> set[str]:
    return set(NodeRun.objects.filter(run=run).values_list("node_id", flat=True))


def _worker_node_executed(run, node_id: str) -> None:
    """The node's delivery, executed here as a worker would (claim, execute, settle)."""
    row = NodeRun.objects.get(run=run, node_id=node_id)
    assert services.node_run_execute(node_run_id=row.pk) == "succeeded"


def test_a_process_that_lived_through_a_flush_runs_the_new_graph(publish):
    call_command("flush", interactive=False, verbosity=0)  # ids start at 1
    old = publish(flow(("start", "trigger.manual"), ("a", "test.sleep", {"seconds": 0}),
                       ("c", "core.noop"), edges=[("start", "a"), ("a", "c")]))
    run = services.run_start(workflow=old)
    _worker_node_executed(run, "a")  # the plan kept by the starting and the settling code
    run.refresh_from_db()
    assert (run.status, _nodes(run)) == ("succeeded", {"start", "a", "c"})
    old_version = WorkflowVersion.objects.get(workflow=old).pk

    call_command("flush", interactive=False, verbosity=0)
    new = publish(flow(("start", "trigger.manual"), ("b", "test.sleep", {"seconds": 0}),
                       ("d", "test.fail"), edges=[("start", "b"), ("b", "d")]))
    assert WorkflowVersion.objects.get(workflow=new).pk == old_version  # the id came back
    run = services.run_start(workflow=new)
    assert _nodes(run) == {"start", "b"}
    _worker_node_executed(run, "b")
    run.refresh_from_db()
    assert (run.status, run.error["node_id"]) == ("failed", "d")
