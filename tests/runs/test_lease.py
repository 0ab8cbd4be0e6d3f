"""A node that is running is executed again only when its worker died: a redelivery
finds it leased (renewed by a heartbeat) and leaves it alone."""

import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from apps.runs import rows, services, tasks
from apps.runs.models import NodeRun
from apps.runs.services import workers
from tests.fixtures.runs import flow


def _call_flow(url):
    return flow(("start", "trigger.manual"), ("call", "test.call", {"url": url}),
                ("after", "core.noop"), edges=[("start", "call"), ("call", "after")])


def _queued_call(publish, receiver):
    """A run whose "call" node is queued: (run, its node run)."""
    run = services.run_start(workflow=publish(_call_flow(receiver.url)), input={"x": 1})
    return run, NodeRun.objects.get(run=run, node_id="call")


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.mark.django_db
def test_a_redelivery_leaves_a_leased_node_to_its_live_worker_and_takes_over_a_lapsed_one(
        publish, receiver):
    workflow = publish(_call_flow(receiver.url))
    run = services.run_start(workflow=workflow, input={"x": 1})
    row = NodeRun.objects.get(run=run, node_id="call")
    # Another machine's worker took it and renews its lease.
    NodeRun.objects.filter(pk=row.pk).update(
        status="running", delivery_count=1, worker="w2@elsewhere#4242",
        lease_until=timezone.now() + timedelta(seconds=60))
    assert services.node_run_execute(node_run_id=row.pk, worker="w1@here") == "busy"
    row.refresh_from_db()
    assert (row.status, row.delivery_count, row.worker) == ("running", 1, "w2@elsewhere#4242")
    assert receiver.keys() == {}
    # That worker died: its lease lapsed, so the next delivery executes the node.
    NodeRun.objects.filter(pk=row.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert services.node_run_execute(node_run_id=row.pk, worker="w1@here") == "succeeded"
    row.refresh_from_db()
    assert row.delivery_count == 2
    assert row.worker == services.worker_identity("w1@here")
    assert receiver.keys() == {f"{run.pk}/call": 1}


@pytest.mark.django_db
def test_a_holder_of_the_same_worker_whose_process_is_gone_is_taken_over_at_once(
        publish, receiver):
    workflow = publish(_call_flow(receiver.url))
    run = services.run_start(workflow=workflow)
    row = NodeRun.objects.get(run=run, node_id="call")
    NodeRun.objects.filter(pk=row.pk).update(
        status="running", delivery_count=1, worker=f"w1@here#{_dead_pid()}",
        lease_until=timezone.now() + timedelta(seconds=60))
    assert services.node_run_execute(node_run_id=row.pk, worker="w1@here") == "succeeded"
    assert receiver.keys() == {f"{run.pk}/call": 1}


@pytest.mark.django_db(transaction=True)
def test_a_running_node_keeps_its_lease_and_a_concurrent_delivery_does_not_run_it(
        publish, receiver, settings):
    settings.WEFT_NODE_LEASE_S = 0.6
    workflow = publish(flow(("start", "trigger.manual"),
                            ("call", "test.call", {"url": receiver.url, "sleep_s": 1.5}),
                            edges=[("start", "call")]))
    run = services.run_start(workflow=workflow)
    row = NodeRun.objects.get(run=run, node_id="call")
    outcome = {}

    def deliver():  # the first delivery, on a worker of its own
        try:
            outcome["first"] = services.node_run_execute(node_run_id=row.pk, worker="w1@here")
        finally:
            connection.close()

    first = threading.Thread(target=deliver)
    first.start()
    try:
        time.sleep(0.3)
        claimed = NodeRun.objects.get(pk=row.pk)
        assert claimed.status == "running"
        time.sleep(0.9)  # past the first lease: only the heartbeat keeps it
        renewed = NodeRun.objects.get(pk=row.pk)
        assert renewed.lease_until > claimed.lease_until
        assert renewed.lease_until > timezone.now()
        # The same message delivered again, from another machine, while the node runs.
        assert services.node_run_execute(node_run_id=row.pk, worker="w2@there") == "busy"
    finally:
        first.join(10)
    assert outcome["first"] == "succeeded"
    assert receiver.keys() == {f"{run.pk}/call": 1}
    assert NodeRun.objects.get(pk=row.pk).delivery_count == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("owner", "name", "after"), [
    # PostgreSQL stopping just as the claim commits: the row is the worker's, the
    # worker sees only a lost connection.
    (rows, "node_run_claim", True),
    # Or going away after the claim, while the delivery reads the workflow's plan.
    (workers, "compiled_by_id", False),
], ids=["claim-answer-lost", "read-after-claim"])
def test_a_delivery_that_loses_the_database_after_its_claim_goes_on_in_its_own_process(
        publish, receiver, monkeypatch, owner, name, after):
    """Other processes leave the node to its live holder, which beats, so the delivery
    waits for the database and takes its own attempt over in this process (before: it
    handed the node back to the broker, and the next delivery, in another process, left
    it alone until its lease lapsed). The moment cannot be chosen from outside, so the
    connection is closed under the call, as PostgreSQL's shutdown does."""
    run, row = _queued_call(publish, receiver)
    real = getattr(owner, name)
    lost = []

    def then_lose_the_database(*args, **kwargs):
        if lost:
            return real(*args, **kwargs)
        if after:
            real(*args, **kwargs)
        lost.append(NodeRun.objects.get(pk=row.pk).status)
        connection.close()
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(owner, name, then_lose_the_database)
    assert tasks.node_execute(row.pk) == "succeeded"
    assert lost == ["running"]  # claimed (committed) when the database went
    row.refresh_from_db()
    assert (row.status, row.delivery_count) == ("succeeded", 2)
    assert receiver.keys() == {f"{run.pk}/call": 1}  # called once
