"""Nodes that wait on the network, on a real I/O worker (one process: a few delivery
threads and one event loop, as `make run` starts it) against the real PostgreSQL and
Redis and local slow HTTP APIs: hundreds of calls in flight from one process with
few threads and connections, caps, cancel, Retry-After, SIGKILL, the SSRF guard."""

import os
import signal
import time

import psutil
import pytest
from django.db import connection

from apps.runs import services
from apps.runs.models import NodeRun, Run
from apps.runs.services.dispatch import dispatch_again
from tests.fixtures.runs import flow

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _http_flow(url, **config):
    return flow(("start", "trigger.manual"),
                ("call", "http.request", {"url": url, "timeout_s": 60, **config}),
                edges=[("start", "call")])


def _wait(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _finished(ids):
    return not Run.objects.filter(pk__in=ids).exclude(
        status__in=["succeeded", "failed", "cancelled"]).exists()


def _worker_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                       "current_database() AND application_name = 'weft-worker'")
        return cursor.fetchone()[0]


def test_one_worker_process_holds_200_calls_in_flight(io_worker_process, publish,
                                                      slow_receiver):
    # Eight APIs (host:port), 25 runs each: under the per-host cap of 32, so all 200
    # calls can wait at once.
    receivers = [slow_receiver(delay_s=6.0) for _ in range(8)]
    workflows = [publish(_http_flow(r.url), name=f"api{i}") for i, r in enumerate(receivers)]
    worker = psutil.Process(io_worker_process.proc.pid)
    ids = [services.run_start(workflow=w, input={"n": i}).pk
           for w in workflows for i in range(25)]
    _wait(lambda: sum(r.in_flight for r in receivers) >= 200, 30, "200 calls in flight")
    threads, connections = worker.num_threads(), _worker_connections()
    assert psutil.Process(io_worker_process.proc.pid).children() == []  # one process
    _wait(lambda: _finished(ids), 60, "the runs to finish")
    assert set(Run.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        "succeeded"}
    assert sum(r.peak for r in receivers) >= 200
    assert all(set(r.keys.values()) == {1} for r in receivers)  # each call sent once
    # Waiting cost neither a thread nor a database connection per call.
    assert threads < 40, threads
    assert connections <= 10, connections
    print(f"in flight 200: worker threads={threads} worker connections={connections} "
          f"rss={worker.memory_info().rss // 2**20} MiB")


def test_a_message_sent_again_while_its_call_is_in_flight_does_not_call_again(
        io_worker_process, publish, slow_receiver):
    # The sweep's safety net (or an outbox re-send) delivers the node's message again
    # while this very process awaits its call: the call is made once.
    receiver = slow_receiver(delay_s=4.0)
    run = services.run_start(workflow=publish(_http_flow(receiver.url)))
    _wait(lambda: receiver.in_flight == 1, 20, "the call")
    row = NodeRun.objects.select_related("run").get(run=run, node_id="call")
    dispatch_again(row)
    dispatch_again(row)
    _wait(lambda: _finished([run.pk]), 40, "the run to finish")
    run.refresh_from_db()
    assert run.status == "succeeded"
    assert receiver.requests == 1, io_worker_process.log()[-2000:]
    assert NodeRun.objects.filter(run=run, node_id="call").count() == 1
    row.refresh_from_db()
    assert (row.status, row.delivery_count) == ("succeeded", 1)


def test_the_per_host_cap_holds_calls_to_one_api(io_worker_process, publish, slow_receiver):
    receiver = slow_receiver(delay_s=1.5)
    workflow = publish(_http_flow(receiver.url))
    ids = [services.run_start(workflow=workflow, input={"n": i}).pk for i in range(48)]
    _wait(lambda: _finished(ids), 60, "the runs to finish")
    assert set(Run.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        "succeeded"}
    assert receiver.peak == 32  # WEFT_IO_PER_HOST's default
    assert len(receiver.keys) == 48


def test_a_429_with_retry_after_is_retried_by_the_engine_after_that_time(
        io_worker_process, publish, slow_receiver):
    receiver = slow_receiver(delay_s=0, script=[(429, {"Retry-After": "3"})])
    workflow = publish(_http_flow(receiver.url, policy={"retries": 2, "backoff_s": 0.1}))
    run = services.run_start(workflow=workflow)
    # While it waits, the retry is a row with a due time, not a call held in a slot.
    _wait(lambda: NodeRun.objects.filter(run=run, node_id="call", attempt=2,
                                         status="pending").exists(), 20, "the retry row")
    _wait(lambda: _finished([run.pk]), 30, "the run to finish")
    run.refresh_from_db()
    assert run.status == "succeeded"
    first, second = NodeRun.objects.filter(run=run, node_id="call").order_by("attempt")
    assert first.status == "failed"
    assert first.error["type"] == "http_status"
    assert second.status == "succeeded"
    assert receiver.requests == 2
    assert receiver.times[1] - receiver.times[0] >= 3.0


def test_cancel_abandons_a_call_in_flight(io_worker_process, publish, slow_receiver):
    receiver = slow_receiver(delay_s=60)
    workflow = publish(_http_flow(receiver.url))
    run = services.run_start(workflow=workflow)
    _wait(lambda: receiver.in_flight == 1, 20, "the call")
    services.run_cancel(run=run)
    _wait(lambda: receiver.hung_up == 1, 10, "the call to be abandoned")
    row = NodeRun.objects.get(run=run, node_id="call")
    assert row.status == "cancelled"
    assert row.outputs in (None, {})
    run.refresh_from_db()
    assert run.status == "cancelled"


def test_the_ssrf_guard_refuses_private_addresses_and_redirects_to_them(
        io_worker_process, publish, slow_receiver):
    inside = slow_receiver(delay_s=0, host="127.0.0.2")  # not on the worker's allow-list
    redirect = slow_receiver(delay_s=0, script=[(302, {"Location": inside.url})])
    direct = services.run_start(workflow=publish(_http_flow(inside.url), name="direct"))
    hop = services.run_start(workflow=publish(_http_flow(redirect.url), name="hop"))
    _wait(lambda: _finished([direct.pk, hop.pk]), 30, "the runs to finish")
    for run in (direct, hop):
        run.refresh_from_db()
        assert run.status == "failed"
        assert run.error["type"] == "ssrf_blocked", run.error
    assert redirect.requests == 1
    assert inside.requests == 0  # never reached


def test_sigkill_of_the_worker_mid_flight_loses_no_run_and_commits_each_node_once(
        io_worker_process, publish, slow_receiver):
    receiver = slow_receiver(delay_s=3.0)
    workflow = publish(flow(("start", "trigger.manual"),
                            ("call", "http.request", {"url": receiver.url, "timeout_s": 60}),
                            ("again", "http.request", {"url": receiver.url + "?n=2",
                                                       "timeout_s": 60}),
                            edges=[("start", "call"), ("call", "again")]))
    ids = [services.run_start(workflow=workflow, input={"n": i}).pk for i in range(24)]
    _wait(lambda: receiver.in_flight >= 24, 30, "every first call in flight")
    os.kill(io_worker_process.proc.pid, signal.SIGKILL)  # its messages were acknowledged
    io_worker_process.proc.wait(10)
    io_worker_process.start(beat=False)  # as `make run`'s supervisor does
    _wait(lambda: _finished(ids), 90, "the runs to finish")
    assert set(Run.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        "succeeded"}, io_worker_process.log()[-2000:]
    for run_id in ids:
        rows = NodeRun.objects.filter(run_id=run_id)
        assert sorted(rows.filter(status="succeeded").values_list("node_id", flat=True)) == [
            "again", "call", "start"]
        assert rows.count() == 3  # one row per node: no attempt was committed twice
        assert rows.get(node_id="call").delivery_count == 2  # taken over once
    assert receiver.hung_up >= 24  # the killed process's calls died with it
    assert len(receiver.keys) == 48
