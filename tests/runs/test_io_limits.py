"""The limits an I/O worker keeps for the APIs it calls, on a real I/O worker process
against the real PostgreSQL and Redis and local slow HTTP APIs: a call waiting for
its host's cap or its turn under a host's or a credential's rate limit shows as queued
(started when its call starts), and a worker killed while calls wait loses none of them."""

import os
import signal
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Count

from apps.runs import services
from apps.runs.io_gates import host_rates
from apps.runs.models import NodeRun, Run
from config.launch import IO_WORKER_OPTIONS
from tests.fixtures.runs import _worker_running, flow
from tests.runs.test_io_executor import _finished, _http_flow, _wait

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

RATED_HOST = "127.0.0.3"  # 1 request per second to it (WEFT_IO_HOST_RATES)


@pytest.fixture(scope="module")
def limited_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """An I/O worker with 2 calls per host at once and a rate limit on one host."""
    yield from _worker_running(
        tmp_path_factory.mktemp("io-limited"), options=IO_WORKER_OPTIONS,
        env={"WEFT_HOLDER_DEAD_S": "3", "WEFT_HTTP_ALLOW_HOSTS": "127.0.0.0/8",
             "WEFT_IO_PER_HOST": "2", "WEFT_IO_HOST_RATES": f"{RATED_HOST}=1"})


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


def _two_calls_flow(rated: dict, other: dict):
    """Two HTTP nodes after a wait until the run's input `at`: "call" (the rate-limited
    one) and "other"."""
    return flow(("start", "trigger.manual"),
                ("hold", "control.wait_until", {"at": "{{ run.input.at }}"}),
                ("call", "http.request", {"timeout_s": 60, **rated}),
                ("other", "http.request", {"timeout_s": 60, **other}),
                edges=[("start", "hold"), ("hold", "call"), ("hold", "other")])


def _runs_succeed(workflow, count: int, timeout: float) -> list:
    """`count` runs of a `_two_calls_flow`, whose calls all become due at the same
    moment (so they ask for more than a limit allows however slowly the runs start)."""
    at = (datetime.now(UTC) + timedelta(seconds=6)).isoformat()
    ids = [services.run_start(workflow=workflow, input={"n": i, "at": at}).pk
           for i in range(count)]
    _wait(lambda: _finished(ids), timeout, "the runs to finish")
    assert set(Run.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        "succeeded"}
    return ids


def _limited_span(count: int, per_s: float) -> float:
    """The least time `count` requests at `per_s` a second take (a bucket of one second's
    requests goes at once, the rest are spaced out), less a margin."""
    return 0.9 * (count - max(per_s, 1)) / per_s


def _assert_limited(times: list[float], *, count: int, per_s: float) -> None:
    times = sorted(times)
    assert len(times) == count
    assert times[-1] - times[0] >= _limited_span(count, per_s), times
    # No second holds more than two seconds' worth.
    assert max(sum(1 for t in times if start <= t < start + 1.0) for start in times) <= \
        2 * max(per_s, 1)


def _assert_not_slowed(times: list[float], *, limited: list[float]) -> None:
    """The calls without the limit, due with the limited ones, were all sent while the
    limited ones were still being spaced out."""
    assert len(times) == len(limited)
    assert max(times) <= max(limited) - 3.0, (sorted(times), sorted(limited))


# The rates of these tests (1 a second, 10 runs: at least 9 s) stay well under what the
# engine delivers on a busy 2-core machine, so that the limit, not the engine, spaces
# the calls.
RUNS = 10


def test_a_hosts_rate_limit_spaces_its_requests(limited_worker, publish, slow_receiver):
    rated = slow_receiver(delay_s=0, host=RATED_HOST)
    free = slow_receiver(delay_s=0)
    _runs_succeed(publish(_two_calls_flow({"url": rated.url}, {"url": free.url})), RUNS, 60)
    _assert_limited(rated.times, count=RUNS, per_s=1)
    # The host without a limit is not slowed by the other's.
    _assert_not_slowed(free.times, limited=rated.times)


def test_a_credentials_rate_limit_spaces_the_calls_that_send_it(
        limited_worker, publish, slow_receiver, create_credential):
    # Two credentials to the same API (host:port, whose cap here is 2 calls at once):
    # one limited to 1 request per second, the other not.
    receiver = slow_receiver(delay_s=0)
    limited = create_credential(secret={"token": "limited-token"}, requests_per_s=1)
    free = create_credential(secret={"token": "free-token"})
    ids = _runs_succeed(publish(_two_calls_flow(
        {"url": receiver.url, "credential": str(limited.pk)},
        {"url": receiver.url, "credential": str(free.pk)})), RUNS, 60)
    _assert_limited(receiver.times_by_auth["Bearer limited-token"], count=RUNS, per_s=1)
    # Its calls waited holding no slot of the host: the other credential's calls to the
    # same API went through unslowed.
    _assert_not_slowed(receiver.times_by_auth["Bearer free-token"],
                       limited=receiver.times_by_auth["Bearer limited-token"])
    # They waited queued: each started when its call went out, not when it was claimed.
    started = sorted(_calls(ids).values_list("started_at", flat=True))
    assert (started[-1] - started[0]).total_seconds() >= _limited_span(RUNS, 1)


def test_calls_whose_turn_is_far_off_wait_in_the_database_not_in_the_worker(
        limited_worker, publish, slow_receiver):
    # 10 calls due at once under 1 request a second: those whose turn is more than a
    # second away go back to the database, pending until their turn, instead of each
    # holding one of the worker's WEFT_IO_CONCURRENCY slots while it waits.
    rated = slow_receiver(delay_s=0, host=RATED_HOST)
    free = slow_receiver(delay_s=0)
    workflow = publish(_two_calls_flow({"url": rated.url}, {"url": free.url}))
    at = (datetime.now(UTC) + timedelta(seconds=6)).isoformat()
    ids = [services.run_start(workflow=workflow, input={"n": i, "at": at}).pk
           for i in range(RUNS)]
    in_worker, pending_due = 0, 0
    deadline = time.monotonic() + 60
    while not _finished(ids) and time.monotonic() < deadline:
        statuses = dict(_calls(ids).values_list("status").annotate(n=Count("id")))
        in_worker = max(in_worker, statuses.get("queued", 0) + statuses.get("running", 0))
        pending_due = max(pending_due, _calls(ids).filter(
            status="pending", due_at__isnull=False).count())
        time.sleep(0.05)
    assert set(Run.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        "succeeded"}
    assert pending_due >= RUNS - 4
    # Those near their turn, plus those the sweep has just sent back to the worker (a
    # sweep that runs late on a loaded machine sends two or three at once); before, all
    # RUNS were queued in the worker together.
    assert in_worker <= RUNS // 2 + 1, in_worker
    # Still one request a second, and each call sent once.
    _assert_limited(rated.times, count=RUNS, per_s=1)
    assert sorted(rated.keys.values()) == [1] * RUNS
    assert _calls(ids).count() == RUNS
    _assert_not_slowed(free.times, limited=rated.times)


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
