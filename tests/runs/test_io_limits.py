"""The limits an I/O worker keeps for the APIs it calls, on a real I/O worker process
against the real PostgreSQL and Redis and local slow HTTP APIs: a call waiting for
its host's cap or its turn under a host's rate limit shows as queued (started when
its call starts), and a worker killed while calls wait loses none of them."""

import os
import signal

import pytest
from django.db.models import Count

from apps.runs import services
from apps.runs.io_gates import host_rates
from apps.runs.models import NodeRun, Run
from config.launch import IO_WORKER_OPTIONS
from tests.fixtures.runs import _worker_running, flow
from tests.runs.test_io_executor import _finished, _http_flow, _wait

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

RATED_HOST = "127.0.0.3"  # 2 requests per second to it (WEFT_IO_HOST_RATES)


@pytest.fixture(scope="module")
def limited_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """An I/O worker with 2 calls per host at once and a rate limit on one host."""
    yield from _worker_running(
        tmp_path_factory.mktemp("io-limited"), options=IO_WORKER_OPTIONS,
        env={"WEFT_HOLDER_DEAD_S": "3", "WEFT_HTTP_ALLOW_HOSTS": "127.0.0.0/8",
             "WEFT_IO_PER_HOST": "2", "WEFT_IO_HOST_RATES": f"{RATED_HOST}=2"})


def _calls(ids):
    return NodeRun.objects.filter(run_id__in=ids, node_id="call")


def test_a_call_waiting_for_its_hosts_cap_shows_as_queued_until_it_starts(
        limited_worker, publish, slow_receiver):
    receiver = slow_receiver(delay_s=3.0)
    workflow = publish(_http_flow(receiver.url))
    ids = [services.run_start(workflow=workflow, input={"n": i}).pk for i in range(4)]

    def two_and_two():
        statuses = dict(_calls(ids).values_list("status").annotate(n=Count("id")))
        return statuses == {"running": 2, "queued": 2}

    _wait(lambda: receiver.in_flight == 2 and two_and_two(), 20, "2 calls and 2 waiting")
    assert receiver.requests == 2
    waiting = _calls(ids).filter(status="queued")
    assert list(waiting.values_list("started_at", flat=True)) == [None, None]
    _wait(lambda: _finished(ids), 30, "the runs to finish")
    assert set(Run.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        "succeeded"}
    rows = list(_calls(ids).order_by("started_at"))
    assert [row.status for row in rows] == ["succeeded"] * 4
    # The last two started when their calls did: after the first two ended (3 s).
    assert (rows[2].started_at - rows[0].started_at).total_seconds() >= 2.5
    assert (rows[2].finished_at - rows[2].started_at).total_seconds() < 6
    assert receiver.peak == 2
    assert sorted(receiver.keys.values()) == [1, 1, 1, 1]


def test_a_hosts_rate_limit_spaces_its_requests(limited_worker, publish, slow_receiver):
    rated = slow_receiver(delay_s=0, host=RATED_HOST)
    free = slow_receiver(delay_s=0)
    workflow = publish(flow(("start", "trigger.manual"),
                            ("call", "http.request", {"url": rated.url, "timeout_s": 60}),
                            ("other", "http.request", {"url": free.url, "timeout_s": 60}),
                            edges=[("start", "call"), ("start", "other")]))
    ids = [services.run_start(workflow=workflow, input={"n": i}).pk for i in range(8)]
    _wait(lambda: _finished(ids), 40, "the runs to finish")
    assert set(Run.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        "succeeded"}
    times = sorted(rated.times)
    assert len(times) == 8
    # 2 per second, with a bucket of 2: 8 requests take at least 3 s, and no second
    # holds more than 4 of them.
    assert times[-1] - times[0] >= 2.7, times
    assert max(sum(1 for t in times if start <= t < start + 1.0) for start in times) <= 4
    # The host without a limit is not slowed by the other's.
    assert len(free.times) == 8
    assert max(free.times) - min(free.times) < 2.5


def test_a_worker_killed_while_calls_wait_for_their_host_loses_none(
        limited_worker, publish, slow_receiver):
    receiver = slow_receiver(delay_s=4.0)
    workflow = publish(_http_flow(receiver.url))
    ids = [services.run_start(workflow=workflow, input={"n": i}).pk for i in range(4)]
    _wait(lambda: receiver.in_flight == 2 and _calls(ids).filter(status="queued").count() == 2,
          20, "2 calls and 2 waiting")
    os.kill(limited_worker.proc.pid, signal.SIGKILL)
    limited_worker.proc.wait(10)
    limited_worker.start(beat=False)
    _wait(lambda: _finished(ids), 90, "the runs to finish")
    assert set(Run.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        "succeeded"}, limited_worker.log()[-2000:]
    assert _calls(ids).count() == 4  # one row per node: none committed twice
    assert len(receiver.keys) == 4


def test_the_rate_setting_names_hosts_with_or_without_a_port():
    assert host_rates(["API.example.com=5", "127.0.0.1:8080=0.5", "*=50"]) == {
        "api.example.com": 5.0, "127.0.0.1:8080": 0.5, "*": 50.0}
    for wrong in ("api.example.com", "=5", "api.example.com=0", "api.example.com=fast"):
        with pytest.raises(ValueError, match="WEFT_IO_HOST_RATES"):
            host_rates([wrong])
