"""Stopping a worker that has calls in flight (a deploy, `make run`'s Ctrl-C, `docker
compose stop`: SIGTERM, Celery's warm shutdown), on real worker processes against the
real PostgreSQL and Redis and a local slow HTTP API: the calls in flight finish and
are settled before the process goes, so no API is called twice for one node; calls
that outlast WEFT_IO_DRAIN_S are handed back at once for another process to make,
rather than waiting for this one's heartbeat to lapse, and calls waiting for their
host's cap are handed back without being started."""

import os
import signal
import time

import pytest

from apps.runs import services
from apps.runs.models import NodeRun, Run
from config.launch import IO_WORKER_OPTIONS
from tests.fixtures.runs import _worker_running, flow
from tests.runs.test_io_executor import _finished, _wait

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DRAIN_S = 4.0
PER_HOST = 8
# Long enough that a quick finish after a stop cannot be the stopped process's nodes
# taken over once its heartbeat lapsed.
HOLDER_DEAD_S = 40


def _running(tmp_path_factory, name, options):
    return _worker_running(
        tmp_path_factory.mktemp(name), options=options,
        env={"WEFT_HOLDER_DEAD_S": str(HOLDER_DEAD_S), "WEFT_IO_DRAIN_S": str(DRAIN_S),
             "WEFT_IO_PER_HOST": str(PER_HOST), "WEFT_HTTP_ALLOW_HOSTS": "127.0.0.1/32"})


@pytest.fixture(scope="module", params=["io-worker", "make-run-worker"])
def stoppable_worker(request, django_db_setup, django_db_blocker, tmp_path_factory):
    """compose.yaml's I/O worker (one process, a thread pool), and `make run`'s worker
    (prefork children, each with its own event loop for the calls)."""
    options = IO_WORKER_OPTIONS if request.param == "io-worker" else ["--concurrency", "2"]
    yield from _running(tmp_path_factory, request.param, options)


def _two_calls(url):
    return flow(("start", "trigger.manual"),
                ("call", "http.request", {"url": url, "timeout_s": 60}),
                ("again", "http.request", {"url": url + "?n=2", "timeout_s": 60}),
                edges=[("start", "call"), ("call", "again")])


def _first_calls_in_flight(publish, receivers, per_receiver: int) -> list:
    """`per_receiver` runs of start -> call -> again against each receiver (under
    PER_HOST), once each first call is in flight."""
    ids = []
    for n, receiver in enumerate(receivers):
        workflow = publish(_two_calls(receiver.url), name=f"api{n}")
        ids += [services.run_start(workflow=workflow, input={"n": i}).pk
                for i in range(per_receiver)]
    _wait(lambda: sum(r.in_flight for r in receivers) >= len(ids), 30,
          "every first call in flight")
    return ids


def _stop(worker) -> float:
    """SIGTERM to the worker's main process (as a supervisor sends it); seconds it took
    to exit."""
    started = time.monotonic()
    os.kill(worker.proc.pid, signal.SIGTERM)
    worker.proc.wait(DRAIN_S + 30)
    return time.monotonic() - started


def test_a_stopped_worker_finishes_its_calls_in_flight_before_it_goes(
        stoppable_worker, publish, slow_receiver):
    receivers = [slow_receiver(delay_s=2.0) for _ in range(2)]
    ids = _first_calls_in_flight(publish, receivers, 6)
    took = _stop(stoppable_worker)
    log = stoppable_worker.log()[-3000:]
    assert [r.hung_up for r in receivers] == [0, 0], log  # no call was cut off
    calls = NodeRun.objects.filter(run_id__in=ids, node_id="call")
    assert set(calls.values_list("status", flat=True)) == {"succeeded"}, log
    assert took < DRAIN_S + 20
    stoppable_worker.start(beat=False)  # as `make run`'s supervisor does
    _wait(lambda: _finished(ids), 60, "the runs to finish")
    assert set(Run.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        "succeeded"}
    assert set(calls.values_list("delivery_count", flat=True)) == {1}
    keys = [receiver.keys for receiver in receivers]
    assert sum(len(k) for k in keys) == 24
    assert {n for k in keys for n in k.values()} == {1}, keys  # each API called once


def test_calls_that_outlast_the_drain_are_handed_back_at_once(
        stoppable_worker, publish, slow_receiver):
    receiver = slow_receiver(delay_s=120)
    ids = _first_calls_in_flight(publish, [receiver], 6)
    receiver.delay_s = 0.1  # the calls made again answer at once
    took = _stop(stoppable_worker)
    log = stoppable_worker.log()[-3000:]
    assert DRAIN_S - 0.5 <= took < DRAIN_S + 20, log
    assert receiver.hung_up == 6, log  # abandoned at the drain's end, not before
    calls = NodeRun.objects.filter(run_id__in=ids, node_id="call")
    # Pending and nobody's: sent again by the next sweep, not after a lapse.
    assert set(calls.values_list("status", "worker")) == {("pending", "")}, log
    stoppable_worker.start(beat=False)
    _wait(lambda: _finished(ids), HOLDER_DEAD_S / 2, "the runs to finish")
    assert set(Run.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        "succeeded"}, stoppable_worker.log()[-3000:]
    assert calls.count() == 6  # one row per node: the same attempt, sent again
    assert len(receiver.keys) == 12


def test_calls_waiting_for_their_hosts_cap_are_handed_back_not_started(
        stoppable_worker, publish, slow_receiver):
    receiver = slow_receiver(delay_s=3.0)
    workflow = publish(_two_calls(receiver.url))
    ids = [services.run_start(workflow=workflow, input={"n": i}).pk for i in range(24)]
    calls = NodeRun.objects.filter(run_id__in=ids, node_id="call")

    def all_taken():  # each first call taken by the worker: out, or held behind the cap
        held = calls.filter(status="queued").exclude(worker="").count()
        return held and held + receiver.in_flight == 24

    _wait(all_taken, 30, "the calls in flight and the rest queued")
    sent = receiver.requests
    _stop(stoppable_worker)
    log = stoppable_worker.log()[-3000:]
    assert receiver.hung_up == 0, log
    assert receiver.requests == sent, log  # none started while the worker was stopping
    assert calls.filter(status="succeeded").count() == sent
    assert set(calls.exclude(status="succeeded").values_list("status", "worker")) == {
        ("pending", "")}, log
    stoppable_worker.start(beat=False)
    _wait(lambda: _finished(ids), 60, "the runs to finish")
    assert set(Run.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        "succeeded"}
    assert len(receiver.keys) == 48
    assert set(receiver.keys.values()) == {1}, receiver.keys
