"""The outbox, heartbeats and PostgreSQL's clock, one service call at a time (the same
behaviours with real processes and faults: test_faults.py)."""

import time
from datetime import timedelta

import pytest
import redis
from django.db import connection

from apps.runs import outbox, rows, services
from apps.runs.models import NodeRun, WorkerHeartbeat
from tests.fixtures.runs import flow

pytestmark = pytest.mark.django_db


def _call_flow(url):
    return flow(("start", "trigger.manual"), ("call", "test.call", {"url": url}),
                ("after", "core.noop"), edges=[("start", "call"), ("call", "after")])


def _running(row, *, worker, lease_s=60):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE runs_noderun SET status = 'running', delivery_count = 1, "
                       "worker = %s, lease_until = now() + make_interval(secs => %s) "
                       "WHERE id = %s", [worker, lease_s, row.pk])


def _beat(holder, *, seconds_ago):
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO runs_workerheartbeat (holder, beat_at, started_at) VALUES "
                       "(%s, now() - make_interval(secs => %s), now() - interval '1 h')",
                       [holder, seconds_ago])


def test_a_run_starts_at_once_while_the_broker_is_down_and_the_outbox_sends_it_later(
        publish, receiver, dead_broker, settings, django_capture_on_commit_callbacks):
    # A grace no loaded machine outlasts between the start and the first pass (with 2 s,
    # a slow Redis revival once let it run out); the row is back-dated past it below.
    settings.WEFT_OUTBOX_GRACE_S = 60
    workflow = publish(_call_flow(receiver.url))
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True) as published:
        run = services.run_start(workflow=workflow, input={"x": 1})
    assert published  # the publish after the commit was tried...
    assert time.monotonic() - started < 3  # ...and gave up at once (21 s before)
    row = NodeRun.objects.get(run=run, node_id="call")
    assert (row.status, row.dispatched_at) == ("queued", None)  # not yet published
    # Redis is back: the outbox (a worker process's loop) sends it, past its grace.
    broker = redis.Redis.from_url(dead_broker.revive())
    before = broker.llen("io")
    assert outbox.outbox_pass()["unpublished"] == 0  # within the grace: left alone
    NodeRun.objects.filter(pk=row.pk).update(
        queued_at=rows.db_now() - timedelta(seconds=settings.WEFT_OUTBOX_GRACE_S + 1))
    assert outbox.outbox_pass()["unpublished"] == 1
    assert broker.llen("io") == before + 1
    broker.lpop("io")  # no worker here: leave the queue as it was
    row.refresh_from_db()
    assert row.dispatched_at is not None
    assert outbox.outbox_pass()["unpublished"] == 0  # sent once, not again


def test_a_node_whose_holder_stopped_beating_is_taken_over_at_once(publish, receiver):
    workflow = publish(_call_flow(receiver.url))
    run = services.run_start(workflow=workflow)
    row = NodeRun.objects.get(run=run, node_id="call")
    _running(row, worker="w2@elsewhere#4242")  # its lease has a minute to go
    _beat("w2@elsewhere#4242", seconds_ago=2)
    assert services.node_run_execute(node_run_id=row.pk, worker="w1@here") == "busy"
    WorkerHeartbeat.objects.filter(holder="w2@elsewhere#4242").delete()
    _beat("w2@elsewhere#4242", seconds_ago=60)  # that process is gone
    picked = outbox.stranded_pick(dead_after_s=10, batch=10)
    assert [pk for pk, *_ in picked] == [row.pk]
    assert outbox.stranded_pick(dead_after_s=10, batch=10) == []  # not again at once
    assert services.node_run_execute(node_run_id=row.pk, worker="w1@here") == "succeeded"
    assert receiver.keys() == {f"{run.pk}/call": 1}


def test_this_processs_own_dead_attempt_is_taken_over_by_its_redelivery(publish, receiver):
    """A settle that failed for good (the database away too long) left the node running
    under this very process: its redelivery takes it over instead of waiting."""
    workflow = publish(_call_flow(receiver.url))
    run = services.run_start(workflow=workflow)
    row = NodeRun.objects.get(run=run, node_id="call")
    _running(row, worker=services.worker_identity("w1@here"))
    assert services.node_run_execute(node_run_id=row.pk, worker="w1@here") == "succeeded"
    assert NodeRun.objects.get(pk=row.pk).delivery_count == 2


def test_leases_run_on_postgresqls_clock(publish, receiver):
    workflow = publish(_call_flow(receiver.url))
    run = services.run_start(workflow=workflow)
    row = NodeRun.objects.get(run=run, node_id="call")
    claim = rows.node_run_claim(row.pk, holder="w1@here#1", lease_s=30, dead_after_s=10)
    assert claim.now == rows.db_now()  # the statement's clock, in this transaction
    claimed = NodeRun.objects.get(pk=row.pk)
    assert (claimed.lease_until - claim.now).total_seconds() == 30
    assert claimed.started_at == claim.now


def test_the_quarantine_message_counts_the_deliveries_that_died(publish, settings):
    settings.WEFT_MAX_DELIVERIES = 3
    workflow = publish(flow(("start", "trigger.manual"), ("crash", "test.crash"),
                            edges=[("start", "crash")]))
    run = services.run_start(workflow=workflow)
    row = NodeRun.objects.get(run=run, node_id="crash")
    with connection.cursor() as cursor:  # three deliveries started it; each worker died
        cursor.execute("UPDATE runs_noderun SET status = 'running', delivery_count = 3, "
                       "worker = 'w9@gone#1', lease_until = now() - interval '1 s' "
                       "WHERE id = %s", [row.pk])
    assert services.node_run_execute(node_run_id=row.pk, worker="w1@here") == "failed"
    error = NodeRun.objects.get(pk=row.pk).error
    assert error["type"] == "quarantined"
    assert "started 3 times and its worker died each time" in error["message"], error


def test_a_sweep_sent_twice_in_a_moment_runs_once(settings):
    """Beat sends the sweep every second to whichever worker is free; one that another
    worker ran a moment ago (by PostgreSQL's clock) is skipped, so a backlog of sweeps
    after the workers were away costs a statement each, not a sweep each."""
    from apps.runs import tasks
    from apps.runs.models import SweepMark

    first = tasks.sweep()
    assert "skipped" not in first
    assert "timers" in first
    assert tasks.sweep() == {"skipped": 1}
    SweepMark.objects.filter(name="runs").update(
        swept_at=rows.db_now() - timedelta(seconds=tasks.SWEEP_SPACING_S))
    assert "timers" in tasks.sweep()
