"""A `respond` webhook whose run goes on in workers waits for the run's events (Redis
pub/sub), not by polling its row, and on the ASGI front a caller waiting on a slow run
holds no thread of the pool that serves the other webhooks."""

import asyncio
import contextlib
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from django.db import connection

from apps.runs import events, respond, services
from apps.runs.models import NodeRun, Run
from apps.runs.triggers import workflow_runtime_get
from tests.fixtures.runs import WebhookFront, asgi_callers, flow
from tests.runs.test_hooks import WEBHOOK
from tests.runs.test_io_executor import _wait

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _calls_on_workers(settings):
    """The runs here go on in workers (tests/runs/test_respond_in_process.py has the
    web front making a respond webhook's calls itself)."""
    settings.WEFT_RESPOND_IN_PROCESS = False


def _slow_flow(url: str, *, timeout_s: float = 30):
    """webhook (respond) -> an HTTP call (on the io queue: no worker takes it here, so
    the run waits until the test executes the node) -> respond."""
    return flow(("hook", "trigger.webhook", {"mode": "respond", "respond_timeout_s": timeout_s}),
                ("call", "http.request", {"url": url}),
                ("respond", "flow.respond", {"status": 201, "body": "{'done': true}"}),
                edges=[("hook", "call"), ("call", "respond")])


@contextlib.contextmanager
def _redis():
    """A client of the Redis that run events go through."""
    client = redis.Redis.from_url(events.pubsub_layer().url)
    try:
        yield client
    finally:
        client.close()


def _numsub(channel: str) -> int:
    with _redis() as client:
        return dict(client.pubsub_numsub(channel)).get(channel.encode(), 0)


def _listeners(run_id) -> int:
    """Subscribers to the run's events (the waiting callers)."""
    return _numsub(respond._events_channel(run_id)[1])


@contextlib.contextmanager
def _caller_waiting(front: str, workflow):
    """A caller posting to the workflow's respond webhook on `front`, in a thread; yields
    (its run, once the caller waits on the run's events; what it was answered, filled
    when it returns: "response" and the monotonic time "at")."""
    answered = {}

    def call():
        try:
            answered["response"] = WebhookFront(front).post(workflow, b"{}")
            answered["at"] = time.monotonic()
        finally:
            connection.close()

    caller = threading.Thread(target=call)
    caller.start()
    try:
        _wait(lambda: Run.objects.filter(workflow=workflow).exists(), 20, "the run")
        run = Run.objects.get(workflow=workflow)
        _wait(lambda: _listeners(run.pk) >= 1, 20, "the caller to wait on the run's events")
        yield run, answered
    finally:
        caller.join(40)


@pytest.mark.parametrize("front", ["view", "asgi"])
def test_a_respond_webhook_answers_when_its_run_ends_woken_by_the_runs_event(
        front, publish, slow_receiver, monkeypatch):
    monkeypatch.setattr(respond, "RECHECK_S", 120.0)  # no re-read of the row but on an event
    receiver = slow_receiver(delay_s=0)
    workflow = publish(_slow_flow(receiver.url))
    with _caller_waiting(front, workflow) as (run, answered):
        row = NodeRun.objects.get(run=run, node_id="call")
        assert services.node_run_execute(node_run_id=row.pk) == "succeeded"
        finished = time.monotonic()
    status, body, headers = answered["response"]
    assert (status, body) == (201, {"done": True})
    assert headers["x-weft-run-id"] == str(run.pk)
    assert answered["at"] - finished < 10  # woken by the event, not the row's re-read
    _wait(lambda: _listeners(run.pk) == 0, 10, "the subscription to end")


@pytest.mark.parametrize("front", ["view", "asgi"])
def test_a_waiting_caller_reads_the_run_only_for_events_that_may_answer_it(
        front, publish, slow_receiver, monkeypatch):
    # Nodes queued or running cannot bring the answer: a waiting caller (on either
    # front) reads the run's row for the events of a node that ended or of the run only.
    monkeypatch.setattr(respond, "RECHECK_S", 120.0)  # no re-read of the row but on an event
    reads = []
    read = respond.respond_read

    def counted(pending, **kwargs):
        reads.append(time.monotonic())
        return read(pending, **kwargs)

    monkeypatch.setattr(respond, "respond_read", counted)
    workflow = publish(_slow_flow(slow_receiver(delay_s=0).url))
    with _caller_waiting(front, workflow) as (run, answered):
        time.sleep(0.5)  # the events of the run's start have come
        before = len(reads)
        for status in ("queued", "running", "running", "queued", "running"):
            events.publish_run(str(run.pk), [{"event": "node", "run_id": str(run.pk),
                                              "node_id": "call", "status": status,
                                              "attempt": 1}])
        time.sleep(1.0)
        assert len(reads) == before  # five quiet events: no read
        row = NodeRun.objects.get(run=run, node_id="call")
        assert services.node_run_execute(node_run_id=row.pk) == "succeeded"
    status, body, _ = answered["response"]
    assert (status, body) == (201, {"done": True})
    assert len(reads) <= before + 2  # the node that ended brought the answer


def test_slow_respond_runs_do_not_delay_a_fast_webhook_on_the_asgi_front(
        publish, slow_receiver):
    slow = publish(_slow_flow(slow_receiver(delay_s=0).url, timeout_s=60), name="Slow")
    fast = publish(WEBHOOK, name="Fast")
    slow_path = f"/hooks/{workflow_runtime_get(workflow=slow).webhook_secret}/"
    fast_path = f"/hooks/{workflow_runtime_get(workflow=fast).webhook_secret}/"
    with asgi_callers(slow_path, 64) as (callers, timed):
        # Every slow caller's run started and waits for its answer.
        _wait(lambda: Run.objects.filter(workflow=slow).count() == 64, 30, "64 slow runs")
        response, took = timed(fast_path, b'{"n": 3}')
        assert response["status"] == 201
        assert json.loads(response["body"])["n"] == 3
        assert took < 5, took  # not behind the 64 slow runs (each waits up to 60 s)
        assert not any(caller.done() for caller in callers)
        assert set(Run.objects.filter(workflow=slow).values_list("status", flat=True)) == {
            "running"}


def _pubsub_clients() -> int:
    with _redis() as client:
        return len(client.client_list(_type="pubsub"))


def test_callers_of_a_process_share_one_subscription_and_each_gets_its_own_runs_events():
    first, second = "8b7e2c1a-0000-4000-8000-000000000001", "8b7e2c1a-0000-4000-8000-000000000002"
    channel_a = respond._events_channel(first)[1]
    channel_b = respond._events_channel(second)[1]
    before = _pubsub_clients()

    async def scenario():
        run_events = respond.run_events()
        assert respond.run_events() is run_events  # one per event loop
        a1 = await run_events.join(channel_a)
        a2 = await run_events.join(channel_a)  # the same request sent again
        b = await run_events.join(channel_b)
        # Confirmed by Redis when join returns: an event published now is not missed.
        assert (_numsub(channel_a), _numsub(channel_b)) == (1, 1)
        assert _pubsub_clients() == before + 1  # three callers, one connection
        events.publish_group(events.run_group(first), {"type": "run.events", "events": [
            {"event": "run", "status": "succeeded", "seq": 7}]})
        got = [await asyncio.wait_for(queue.get(), 10) for queue in (a1, a2)]
        assert got == [{"type": "run.events",
                        "events": [{"event": "run", "status": "succeeded", "seq": 7}]}] * 2
        await asyncio.sleep(0.2)
        assert b.empty()  # another run's caller is not woken
        await run_events.leave(channel_a, a1)
        assert _numsub(channel_a) == 1  # its other caller still waits
        await run_events.leave(channel_a, a2)
        await run_events.leave(channel_b, b)
        for _ in range(100):
            if (_numsub(channel_a), _numsub(channel_b)) == (0, 0):
                break
            await asyncio.sleep(0.05)
        assert (_numsub(channel_a), _numsub(channel_b)) == (0, 0)

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, scenario()).result(60)
    _wait(lambda: _pubsub_clients() == before, 10, "the loop's connection closed with it")


def test_a_waiting_caller_whose_events_connection_is_cut_still_gets_its_answer(
        publish, slow_receiver, monkeypatch):
    monkeypatch.setattr(respond, "RECHECK_S", 0.5)
    workflow = publish(_slow_flow(slow_receiver(delay_s=0).url))
    with _redis() as client, _caller_waiting("asgi", workflow) as (run, answered):
        client.client_kill_filter(_type="pubsub")  # Redis drops the subscription
        row = NodeRun.objects.get(run=run, node_id="call")
        assert services.node_run_execute(node_run_id=row.pk) == "succeeded"
    status, body, _ = answered["response"]
    assert (status, body) == (201, {"done": True})


def test_a_caller_that_could_not_subscribe_leaves_nothing_behind():
    # Redis away when the caller subscribes: it reads its row instead (respond_wait_async),
    # and a later caller of the same run subscribes afresh.
    async def scenario():
        run_events = respond.RunEvents("redis://127.0.0.1:9/2", events.pubsub_layer().serializer)
        for _ in range(2):
            with pytest.raises(redis.exceptions.ConnectionError):
                await run_events.join("asgi__group__run.gone")
            assert (run_events.waiters, run_events.confirmed) == ({}, {})

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, scenario()).result(60)
