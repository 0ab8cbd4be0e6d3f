"""Real Celery worker processes against the real Redis and PostgreSQL: deliveries die,
the broker restarts, and every run still finishes with each result committed once."""

import os
import random
import signal
import time

import pytest

from apps.runs import services
from apps.runs.models import NodeRun, Run
from tests.fixtures.runs import flow

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _calls(url, count, sleep_s):
    nodes = [("start", "trigger.manual")] + [
        (f"c{i}", "test.call", {"url": url, "sleep_s": sleep_s}) for i in range(count)]
    edges = [("start", "c0")] + [(f"c{i}", f"c{i + 1}") for i in range(count - 1)]
    return flow(*nodes, edges=edges)


def _wait_finished(run_ids, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Run.objects.filter(pk__in=run_ids).exclude(
                status__in=["succeeded", "failed", "cancelled"]).exists():
            return
        time.sleep(0.2)
    raise AssertionError(list(Run.objects.filter(pk__in=run_ids).values_list("status",
                                                                             flat=True)))


def test_killing_worker_children_mid_node_loses_and_doubles_nothing(
        celery_worker_process, publish, receiver):
    workflow = publish(_calls(receiver.url, 3, 0.4))
    runs = [services.run_start(workflow=workflow, input={"n": i}) for i in range(8)]
    ids = [r.pk for r in runs]
    kills = 0
    deadline = time.monotonic() + 120
    rng = random.Random(7)
    while time.monotonic() < deadline:
        if not Run.objects.filter(pk__in=ids, status__in=["running", "queued"]).exists():
            break
        # Kill a child while some node is executing, short of the worker's quarantine
        # limit (WEFT_MAX_DELIVERIES=6 there; another test shows the quarantine).
        executing = NodeRun.objects.filter(run_id__in=ids, status="running").exists() and \
            not NodeRun.objects.filter(run_id__in=ids, delivery_count__gte=5).exists()
        children = celery_worker_process.children()
        if executing and children and rng.random() < 0.5:
            os.kill(rng.choice(children), signal.SIGKILL)
            kills += 1
            time.sleep(0.6)
        time.sleep(0.15)
    _wait_finished(ids, 60)
    assert kills >= 5, (kills, celery_worker_process.log()[-1500:])
    assert list(Run.objects.filter(pk__in=ids, status="failed").values_list("error", flat=True)) == []
    assert set(Run.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        "succeeded"}
    for run_id in ids:
        succeeded = NodeRun.objects.filter(run_id=run_id, status="succeeded")
        assert sorted(succeeded.values_list("node_id", flat=True)) == [
            "c0", "c1", "c2", "start"]
    # Each node's side effect reached the receiver (at least once: the worker may die
    # after the call), and every key maps to exactly one committed result.
    keys = receiver.keys()
    assert set(keys) == {f"{r}/c{i}" for r in ids for i in range(3)}
    redelivered = NodeRun.objects.filter(run_id__in=ids, delivery_count__gt=1).count()
    print(f"kills={kills} redelivered_nodes={redelivered} "
          f"calls={sum(keys.values())} distinct={len(keys)}")


def test_a_node_that_keeps_killing_its_worker_is_quarantined(celery_worker_process, publish):
    workflow = publish(flow(("start", "trigger.manual"), ("crash", "test.crash"),
                            edges=[("start", "crash")]))
    run = services.run_start(workflow=workflow)
    _wait_finished([run.pk], 90)
    run.refresh_from_db()
    assert run.status == "failed"
    assert run.error["type"] == "quarantined"
    row = NodeRun.objects.get(run=run, node_id="crash")
    assert row.delivery_count == 7  # WEFT_MAX_DELIVERIES=6 for the test worker


def test_runs_in_flight_finish_across_a_broker_restart(celery_worker_process, publish,
                                                       receiver):
    workflow = publish(_calls(receiver.url, 2, 0.3))
    ids = [services.run_start(workflow=workflow, input={"n": i}).pk for i in range(6)]
    time.sleep(0.5)
    celery_worker_process.stop_redis()
    time.sleep(2)
    celery_worker_process.start_redis()
    _wait_finished(ids, 90)
    assert set(Run.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        "succeeded"}
    assert set(receiver.keys()) == {f"{r}/c{i}" for r in ids for i in range(2)}


def test_a_map_runs_items_in_chunks_and_keeps_their_order(celery_worker_process, publish):
    child = publish(flow(("start", "trigger.manual"),
                         ("set", "test.set", {"values": {"done": True}}),
                         edges=[("start", "set")]), name="item")
    parent = publish(flow(("start", "trigger.manual"),
                          ("map", "flow.map", {"workflow_id": str(child.pk), "chunk_size": 7,
                                               "concurrency": 2}),
                          edges=[("start", "map")]))
    # The map's input is the trigger's output: here the run input itself is the list.
    run = services.run_start(workflow=parent, input={"items": list(range(50))})
    _wait_finished([run.pk], 60)
    run.refresh_from_db()
    # A dict input reaches the map as a dict: it refuses anything but a list.
    assert run.status == "failed"
    assert run.error["type"] == "invalid_input"
    parent = publish(flow(("start", "trigger.manual"), ("items", "test.items"),
                          ("map", "flow.map", {"workflow_id": str(child.pk), "chunk_size": 7,
                                               "concurrency": 2}),
                          edges=[("start", "items"), ("items", "map")]))
    run = services.run_start(workflow=parent, input={"count": 50})
    _wait_finished([run.pk], 60)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    out = NodeRun.objects.get(run=run, node_id="map").outputs["out"]
    assert out == [{"item": i, "done": True} for i in range(50)]


def test_runs_finish_when_the_database_drops_the_workers_connections(
        celery_worker_process, publish, receiver):
    """What a PostgreSQL restart does to a worker: every connection it holds is cut,
    some in the middle of a task. Runs go on, no side effect is lost."""
    from django.db import connection

    workflow = publish(_calls(receiver.url, 3, 0.2))
    ids = [services.run_start(workflow=workflow, input={"n": i}).pk for i in range(6)]
    cut = 0
    for _ in range(6):
        time.sleep(0.35)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND application_name = 'weft-worker'")
            cut += cursor.fetchone()[0]
    _wait_finished(ids, 90)
    assert cut >= 3, celery_worker_process.log()[-1500:]
    assert set(Run.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        "succeeded"}, celery_worker_process.log()[-3000:]
    assert set(receiver.keys()) == {f"{r}/c{i}" for r in ids for i in range(3)}


def test_a_node_whose_worker_and_message_were_lost_is_sent_again(celery_worker_process,
                                                                  publish, receiver):
    """A worker machine vanished mid-node, taking the node's message with it: the row
    is running under a lease nobody renews. The sweep sends it again once the lease
    has long lapsed; so too a queued row whose message never reached the broker."""
    from datetime import timedelta

    from django.utils import timezone

    from celery_worker.app import app

    workflow = publish(_calls(receiver.url, 1, 0))
    long_ago = timezone.now() - timedelta(seconds=30)
    celery_worker_process.stop()
    try:
        lost, unsent = (services.run_start(workflow=workflow, input={"n": i}) for i in range(2))
        assert app.control.purge() >= 2  # their messages are lost
    finally:
        celery_worker_process.start()
    NodeRun.objects.filter(run=lost, node_id="c0").update(
        status="running", delivery_count=1, worker="w9@gone#99", started_at=long_ago,
        lease_until=long_ago)
    NodeRun.objects.filter(run=unsent, node_id="c0").update(queued_at=long_ago)
    _wait_finished([lost.pk, unsent.pk], 60)
    assert set(Run.objects.filter(pk__in=[lost.pk, unsent.pk]).values_list(
        "status", flat=True)) == {"succeeded"}
    assert receiver.keys() == {f"{lost.pk}/c0": 1, f"{unsent.pk}/c0": 1}
    taken_over = NodeRun.objects.get(run=lost, node_id="c0")
    assert taken_over.delivery_count == 2
    assert taken_over.worker != "w9@gone#99"
