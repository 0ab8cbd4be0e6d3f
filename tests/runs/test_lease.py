"""A node that is running is executed again only when its worker died: a redelivery
finds it leased (renewed by a heartbeat) and leaves it alone."""

import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.runs import services
from apps.runs.models import NodeRun
from tests.fixtures.runs import flow


def _call_flow(url):
    return flow(("start", "trigger.manual"), ("call", "test.call", {"url": url}),
                ("after", "core.noop"), edges=[("start", "call"), ("call", "after")])


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
