"""The engine in this process: pure nodes run inline, so these need no worker.
Nodes that go to a worker are executed here by calling the task's service."""

import os
import threading
from contextlib import contextmanager

import pytest

from apps.runs import rows, services
from apps.runs.models import MapItem, NodeRun, Run
from apps.runs.services import children, control, workers
from tests.fixtures.runs import flow

pytestmark = pytest.mark.django_db

SET_IF = flow(("start", "trigger.manual"), ("set", "test.set", {"values": {"ok": True}}),
              ("if", "test.if"), ("yes", "test.set", {"values": {"branch": "yes"}}),
              ("no", "test.set", {"values": {"branch": "no"}}),
              edges=[("start", "set"), ("set", "if"), ("if", "true", "yes", "in"),
                     ("if", "false", "no", "in")])


def test_a_pure_workflow_runs_to_the_end_inline(publish):
    workflow = publish(SET_IF)
    run = services.run_start(workflow=workflow, input={"n": 1})
    run.refresh_from_db()
    assert run.status == "succeeded"
    rows = {r.node_id: r for r in NodeRun.objects.filter(run=run)}
    assert rows["yes"].status == "succeeded"
    assert rows["yes"].outputs == {"out": {"n": 1, "ok": True, "branch": "yes"}}
    assert rows["no"].status == "skipped"
    assert rows["if"].outputs == {"true": {"n": 1, "ok": True}}
    assert len(run.trace_id) == 32


def test_a_failing_node_fails_the_run_with_its_error(publish):
    workflow = publish(flow(("start", "trigger.manual"), ("boom", "test.fail"),
                            ("after", "core.noop"), edges=[("start", "boom"), ("boom", "after")]))
    run = services.run_start(workflow=workflow)
    run.refresh_from_db()
    assert run.status == "failed"
    assert run.error == {"type": "ValueError", "message": "this node always fails",
                         "node_id": "boom"}
    assert NodeRun.objects.get(run=run, node_id="after").status == "skipped"


def _call_flow(url, **policy):
    config = {"url": url}
    if policy:
        config["policy"] = policy
    return flow(("start", "trigger.manual"), ("call", "test.call", config),
                ("after", "core.noop"), edges=[("start", "call"), ("call", "after")])


def test_a_node_with_io_is_queued_for_a_worker_and_its_result_commits_once(
        publish, receiver):
    workflow = publish(_call_flow(receiver.url))
    run = services.run_start(workflow=workflow, input={"x": 1})
    row = NodeRun.objects.get(run=run, node_id="call")
    assert row.status == "queued"
    assert services.node_run_execute(node_run_id=row.pk) == "succeeded"
    # A second delivery of the same work changes nothing.
    assert services.node_run_execute(node_run_id=row.pk) == "ignored"
    run.refresh_from_db()
    assert run.status == "succeeded"
    assert receiver.keys() == {f"{run.pk}/call": 1}


def test_retries_are_due_time_rows_and_keep_the_failed_attempt(publish, receiver):
    workflow = publish(_call_flow(receiver.url, retries=2, backoff_s=30))
    run = services.run_start(workflow=workflow, input={"fail_until": 1})
    first = NodeRun.objects.get(run=run, node_id="call")
    services.node_run_execute(node_run_id=first.pk)
    attempts = list(NodeRun.objects.filter(run=run, node_id="call").order_by("attempt"))
    assert [(a.attempt, a.status) for a in attempts] == [(1, "failed"), (2, "pending")]
    assert attempts[1].due_at is not None
    services.runs_sweep()  # not due yet
    assert NodeRun.objects.get(run=run, node_id="call", attempt=2).status == "pending"
    services.runs_sweep(now=attempts[1].due_at)
    second = NodeRun.objects.get(run=run, node_id="call", attempt=2)
    assert second.status == "queued"
    services.node_run_execute(node_run_id=second.pk)
    run.refresh_from_db()
    assert run.status == "succeeded"


def test_on_error_continue_through_the_error_port(publish):
    graph = flow(("start", "trigger.manual"),
                 ("call", "test.call", {"url": "http://127.0.0.1:9/",
                                        "policy": {"on_error": "error_port"}}),
                 ("handled", "core.noop"),
                 edges=[("start", "call"), ("call", "error", "handled", "in")])
    run = services.run_start(workflow=publish(graph))
    services.node_run_execute(node_run_id=NodeRun.objects.get(run=run, node_id="call").pk)
    run.refresh_from_db()
    assert run.status == "succeeded"
    handled = NodeRun.objects.get(run=run, node_id="handled")
    assert handled.outputs["out"]["type"] == "URLError"


def test_cancel_drops_a_late_result(publish, receiver):
    workflow = publish(_call_flow(receiver.url))
    run = services.run_start(workflow=workflow)
    row = NodeRun.objects.get(run=run, node_id="call")
    # The worker claimed the node, then the run is cancelled while it executes.
    NodeRun.objects.filter(pk=row.pk).update(status="running", delivery_count=1)
    services.run_cancel(run=run)
    row.refresh_from_db()
    assert row.status == "cancelled"
    from apps.nodes.base import Outputs

    assert workers.record_result(row, Outputs({"out": 1})) == "dropped"
    row.refresh_from_db()
    run.refresh_from_db()
    assert (row.status, row.outputs, run.status) == ("cancelled", None, "cancelled")
    assert not NodeRun.objects.filter(run=run, node_id="after").exists()


def test_retry_runs_again_from_the_failed_node_keeping_earlier_outputs(publish, receiver):
    workflow = publish(flow(("start", "trigger.manual"), ("set", "test.set"),
                            ("call", "test.call", {"url": receiver.url}),
                            edges=[("start", "set"), ("set", "call")]))
    run = services.run_start(workflow=workflow, input={"fail_until": 1})
    set_row = NodeRun.objects.get(run=run, node_id="set")
    services.node_run_execute(node_run_id=NodeRun.objects.get(run=run, node_id="call").pk)
    run.refresh_from_db()
    assert run.status == "failed"
    services.run_retry(run=run)
    retry = NodeRun.objects.get(run=run, node_id="call", attempt=2)
    assert retry.status == "queued"
    services.node_run_execute(node_run_id=retry.pk)
    run.refresh_from_db()
    assert run.status == "succeeded"
    assert NodeRun.objects.filter(run=run, node_id="set").get().pk == set_row.pk


def test_redelivery_beyond_the_limit_quarantines_the_node(publish, receiver, settings):
    settings.WEFT_MAX_DELIVERIES = 3
    workflow = publish(_call_flow(receiver.url))
    run = services.run_start(workflow=workflow)
    row = NodeRun.objects.get(run=run, node_id="call")
    NodeRun.objects.filter(pk=row.pk).update(status="running", delivery_count=3)
    assert services.node_run_execute(node_run_id=row.pk) == "failed"
    run.refresh_from_db()
    assert run.status == "failed"
    assert run.error["type"] == "quarantined"
    assert receiver.keys() == {}


def test_the_kill_switch_refuses_new_runs_and_holds_runs_in_flight(publish, receiver):
    workflow = publish(_call_flow(receiver.url))
    run = services.run_start(workflow=workflow)
    row = NodeRun.objects.get(run=run, node_id="call")
    services.engine_pause(workflow=workflow, reason="incident 42")
    with pytest.raises(Exception) as refused:
        services.run_start(workflow=workflow)
    assert refused.value.get_codes() == "paused"
    assert refused.value.status_code == 423
    assert "incident 42" in str(refused.value.detail)
    # The queued delivery is refused while paused; the run waits.
    assert services.node_run_execute(node_run_id=row.pk) == "paused"
    assert Run.objects.get(pk=run.pk).status == "paused"
    services.runs_sweep()
    services.engine_resume(workflow=workflow)
    row.refresh_from_db()
    assert row.status == "queued"
    assert services.node_run_execute(node_run_id=row.pk) == "succeeded"
    assert Run.objects.get(pk=run.pk).status == "succeeded"


def test_a_node_finishing_while_paused_records_and_pauses_the_run(publish, receiver):
    workflow = publish(flow(("start", "trigger.manual"),
                            ("a", "test.call", {"url": receiver.url}),
                            ("b", "test.call", {"url": receiver.url}),
                            edges=[("start", "a"), ("a", "b")]))
    run = services.run_start(workflow=workflow)
    row = NodeRun.objects.get(run=run, node_id="a")
    NodeRun.objects.filter(pk=row.pk).update(status="running", delivery_count=1)
    services.engine_pause()
    from apps.nodes.base import Outputs

    assert workers.record_result(row, Outputs({"out": 1})) == "succeeded"
    run.refresh_from_db()
    assert run.status == "paused"
    assert NodeRun.objects.get(run=run, node_id="b").status == "pending"
    services.engine_resume()
    run.refresh_from_db()
    assert run.status == "running"
    assert NodeRun.objects.get(run=run, node_id="b").status == "queued"


def test_a_sub_workflow_waits_for_its_child_run(publish):
    child = publish(flow(("start", "trigger.manual"),
                         ("set", "test.set", {"values": {"child": True}}),
                         edges=[("start", "set")]), name="child")
    parent = publish(flow(("start", "trigger.manual"),
                          ("sub", "flow.subworkflow", {"workflow_id": str(child.pk)}),
                          ("after", "core.noop"), edges=[("start", "sub"), ("sub", "after")]))
    run = services.run_start(workflow=parent, input={"a": 1})
    sub = NodeRun.objects.get(run=run, node_id="sub")
    assert services.node_run_execute(node_run_id=sub.pk) == "waiting"
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    child_run = Run.objects.get(parent_run=run)
    assert child_run.status == "succeeded"
    assert NodeRun.objects.get(run=run, node_id="after").outputs == {
        "out": {"a": 1, "child": True}}


def test_a_failed_run_starts_error_trigger_workflows(publish):
    failing = publish(flow(("start", "trigger.manual"), ("boom", "test.fail"),
                           edges=[("start", "boom")]), name="failing")
    watcher = publish(flow(("start", "trigger.error", {"workflows": [str(failing.pk)]}),
                           ("note", "core.noop"), edges=[("start", "note")]), name="watcher")
    run = services.run_start(workflow=failing)
    from apps.runs import triggers

    assert triggers.error_triggers_fire(run_id=run.pk) == 1
    started = Run.objects.get(workflow=watcher)
    assert started.trigger == "error"
    assert started.status == "succeeded"
    assert started.input["run_id"] == str(run.pk)
    assert started.input["error"]["node_id"] == "boom"


def test_schedules_start_once_per_due_time(publish):
    from datetime import timedelta

    from django.core.cache import cache
    from django.utils import timezone

    from apps.runs import triggers
    from apps.runs.models import WorkflowRuntime

    workflow = publish(flow(("start", "trigger.schedule", {"cron": "*/5 * * * *",
                                                           "timezone": "Europe/Paris"}),
                            ("a", "core.noop"), edges=[("start", "a")]))
    cache.delete("weft:schedules-synced")
    now = timezone.now()
    triggers.schedules_sweep(now=now)
    runtime = WorkflowRuntime.objects.get(workflow=workflow)
    assert runtime.schedule_next_at > now
    later = runtime.schedule_next_at + timedelta(seconds=1)
    assert triggers.schedules_sweep(now=later) == 1
    assert triggers.schedules_sweep(now=later) == 0  # the same due time never twice
    assert Run.objects.filter(workflow=workflow, trigger="schedule").count() == 1


def test_every_node_type_sees_input_as_its_own_input_and_the_run_under_run(publish):
    """`input` is what arrived on the node's port; `run.input` the trigger's input."""
    workflow = publish(flow(
        ("hook", "trigger.webhook"),
        ("set", "data.set", {"fields": [{"name": "doubled", "value": "input.n * 2"},
                                        {"name": "from_run", "value": "run.input.n"}]}),
        ("respond", "flow.respond", {"body": "{'got': input, 'first': nodes.hook.output, "
                                             "'run': run.id, 'trace': run.trace_id, "
                                             "'workflow': run.workflow.id, "
                                             "'version': run.workflow.version}"}),
        edges=[("hook", "set"), ("set", "respond")]))
    run = services.run_start(workflow=workflow, input={"n": 4}, trigger="webhook")
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    assert run.response["body"] == {
        "got": {"doubled": 8, "from_run": 4}, "first": {"n": 4}, "run": str(run.pk),
        "trace": run.trace_id, "workflow": str(workflow.pk), "version": 1}


def test_a_respond_expression_that_fails_fails_the_node_with_an_expression_error(publish):
    workflow = publish(flow(("hook", "trigger.webhook"),
                            ("respond", "flow.respond", {"body": "input.missing.deeper"}),
                            edges=[("hook", "respond")]))
    run = services.run_start(workflow=workflow, input={"n": 1}, trigger="webhook")
    run.refresh_from_db()
    assert run.status == "failed"
    assert run.error["type"] == "expression"


def test_a_large_list_reaches_a_map_by_reference_and_its_result_stays_in_item_rows(
        publish, monkeypatch, node_spy, django_capture_on_commit_callbacks):
    """Driven in this process (no worker): the map's task sees neither its list nor
    earlier outputs; a large result is a reference that a data node materialises."""
    monkeypatch.setattr(rows, "LARGE_JSON_BYTES", 64)
    monkeypatch.setattr(children, "MAP_INLINE_MAX", 10)
    child = publish(flow(("start", "trigger.manual"),
                         ("set", "test.set", {"values": {"done": True}}),
                         edges=[("start", "set")]), name="item")
    parent = publish(flow(("start", "trigger.manual"), ("items", "test.items"),
                          ("map", "flow.map", {"workflow_id": str(child.pk), "chunk_size": 7}),
                          ("after", "core.noop"),
                          edges=[("start", "items"), ("items", "map"), ("map", "after")]))
    run = services.run_start(workflow=parent, input={"count": 30})
    items = NodeRun.objects.get(run=run, node_id="items")
    assert len(items.outputs["out"]) == 30
    lean = next(row for row in rows.node_runs_of(run.pk) if row.pk == items.pk)
    assert lean.outputs == {"out": {"$weft_ref": {"node_run": items.pk, "field": "outputs",
                                                  "port": "out"}}}
    map_row = NodeRun.objects.get(run=run, node_id="map")
    seen = node_spy("flow.map")
    with django_capture_on_commit_callbacks():
        assert services.node_run_execute(node_run_id=map_row.pk) == "waiting"
    assert seen[0].nodes == {}
    assert services.is_ref(seen[0].inputs["in"])
    assert MapItem.objects.filter(node_run=map_row).count() == 30
    with django_capture_on_commit_callbacks():
        services.map_progress(node_run_id=map_row.pk)
    for chunk in range(5):
        services.map_chunk_run(node_run_id=map_row.pk, chunk=chunk)
    with django_capture_on_commit_callbacks():
        for _ in range(3):
            services.map_progress(node_run_id=map_row.pk)
    services.node_run_resume(node_run_id=map_row.pk)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    map_row.refresh_from_db()
    assert map_row.outputs == {"out": {"$weft_ref": {"map": map_row.pk, "count": 30}}}
    after = NodeRun.objects.get(run=run, node_id="after")
    assert after.outputs["out"] == [{"item": i, "done": True} for i in range(30)]


@contextmanager
def _a_step_holding(run_id):
    """Another connection holds a run's lock (as a step of that run does) until the
    `release()` this yields is called or the block ends; meanwhile this connection
    gives up on any lock after 2 s instead of waiting (a wait would be a lock-order
    bug: the failure names the lock)."""
    from django.db import connection, transaction

    held, release = threading.Event(), threading.Event()

    def step():
        from django.db import connection as own

        try:
            with transaction.atomic():
                assert rows.run_lock(run_id) is not None
                held.set()
                release.wait(10)
        finally:
            own.close()

    thread = threading.Thread(target=step)
    thread.start()

    def let_go():
        release.set()
        thread.join(10)

    try:
        assert held.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
        yield let_go
    finally:
        let_go()
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 0")


@pytest.mark.django_db(transaction=True)
def test_map_progress_goes_on_while_a_step_of_its_run_holds_the_run(
        publish, django_capture_on_commit_callbacks):
    """Lock order: a step locks the run, then its rows; map progress locks only the
    map's row. Had it locked the run as well (it once did, through a join), a step
    resuming the map and a progress task of the same map could deadlock."""
    from tests.fixtures.runs import ITEM_FLOW, map_graph

    child = publish(ITEM_FLOW, name="item")
    run = services.run_start(workflow=publish(map_graph(child.pk, chunk_size=5)),
                             input={"count": 20})
    map_row = NodeRun.objects.get(run=run, node_id="map")
    with django_capture_on_commit_callbacks():
        assert services.node_run_execute(node_run_id=map_row.pk) == "waiting"
    with _a_step_holding(run.pk), django_capture_on_commit_callbacks():
        assert services.map_progress(node_run_id=map_row.pk) == "progress"


def _parent_waiting_on_a_child(publish, receiver, capture):
    """A parent run whose sub-workflow node waits on a child run; the child's node is
    queued for a worker."""
    child = publish(_call_flow(receiver.url), name="child")
    parent = publish(flow(("start", "trigger.manual"),
                          ("sub", "flow.subworkflow", {"workflow_id": str(child.pk)}),
                          ("after", "core.noop"), edges=[("start", "sub"), ("sub", "after")]))
    run = services.run_start(workflow=parent, input={"a": 1})
    sub = NodeRun.objects.get(run=run, node_id="sub")
    with capture(execute=True):
        assert services.node_run_execute(node_run_id=sub.pk) == "waiting"
    child_run = Run.objects.get(parent_run=run)
    call = NodeRun.objects.get(run=child_run, node_id="call")
    assert (child_run.status, call.status) == ("running", "queued")
    return run, sub, child_run, call


def test_cancelling_a_run_cancels_its_child_runs_in_flight(
        publish, receiver, django_capture_on_commit_callbacks):
    """Cancel the parent: the child run and its node are cancelled too; the child's
    late result is dropped and never reaches the parent."""
    from apps.nodes.base import Outputs

    run, sub, child_run, call = _parent_waiting_on_a_child(
        publish, receiver, django_capture_on_commit_callbacks)
    NodeRun.objects.filter(pk=call.pk).update(status="running", delivery_count=1)
    with django_capture_on_commit_callbacks(execute=True):
        services.run_cancel(run=run)
    child_run.refresh_from_db()
    call.refresh_from_db()
    assert (child_run.status, call.status) == ("cancelled", "cancelled")
    assert workers.record_result(call, Outputs({"out": 1})) == "dropped"
    sub.refresh_from_db()
    assert sub.status == "cancelled"
    assert not NodeRun.objects.filter(run=run, node_id="after").exists()


def test_the_sweep_cancels_a_child_run_that_outlived_its_parent(
        publish, receiver, django_capture_on_commit_callbacks):
    """The process that cancelled the parent was lost before it cancelled the child
    (after-commit work never ran): the sweep finds the orphan and cancels it."""
    run, _, child_run, call = _parent_waiting_on_a_child(
        publish, receiver, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=False):  # lost with its process
        services.run_cancel(run=run)
    child_run.refresh_from_db()
    assert child_run.status == "running"
    with django_capture_on_commit_callbacks(execute=True):
        counts = services.runs_sweep()
    assert counts["orphans"] == 1
    child_run.refresh_from_db()
    call.refresh_from_db()
    assert (child_run.status, call.status) == ("cancelled", "cancelled")


@pytest.mark.django_db(transaction=True)
def test_cancelling_a_parent_never_waits_for_a_child_step(
        publish, receiver, django_capture_on_commit_callbacks):
    """Lock order: a child's step locks the child, then its parent (to resume it).
    Cancelling the parent locks the parent alone; its children are cancelled after,
    each on its own. Had it locked them under the parent's lock, the two could
    deadlock."""
    from django.db import transaction

    run, _, child_run, _ = _parent_waiting_on_a_child(
        publish, receiver, django_capture_on_commit_callbacks)
    # What run_cancel does, its transaction held open while the child's step holds on.
    with _a_step_holding(child_run.pk) as let_go, transaction.atomic():
        control.cancel_locked(rows.run_lock(run.pk))  # must not wait for the child
        let_go()
    # At the commit, the children were cancelled, each on its own.
    run.refresh_from_db()
    child_run.refresh_from_db()
    assert (run.status, child_run.status) == ("cancelled", "cancelled")


def test_a_web_process_dispatches_nodes_to_weft_s_broker(publish, receiver, settings):
    """A fresh web process starts a run in a thread of its own before anything made
    Weft's Celery app current: the node must still reach Weft's broker. (Celery's
    current app is per thread; a task's apply_async from such a thread went to Celery's
    unconfigured default app, a broker on localhost, and the node waited for the
    sweep.) A subprocess, because this test process made the app current long ago."""
    import subprocess
    import sys

    import redis

    workflow = publish(_call_flow(receiver.url))
    run = services.run_start(workflow=workflow)
    row = NodeRun.objects.get(run=run, node_id="call")
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    before = broker.llen("io")
    code = (
        "import django, threading\n"
        "django.setup()\n"
        "from apps.runs import services\n"
        "thread = threading.Thread(target=services.dispatch_node_runs, "
        f"args=([({row.pk}, 'io', None)],), kwargs={{'trace_id': 'x'}})\n"
        "thread.start(); thread.join(60)\n")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings",
           "WEFT_BROKER_URL": settings.CELERY_BROKER_URL}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=120)
    assert broker.llen("io") == before + 1
    assert b"runs.node_execute" in broker.lrange("io", 0, 0)[0]
    broker.lpop("io")  # no worker here: leave the queue as it was
