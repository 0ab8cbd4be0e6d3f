"""A respond-mode webhook's network nodes (HTTP requests, model calls) are executed by
the web process that waits for the run's answer (WEFT_RESPOND_IN_PROCESS), not sent to
a worker: claimed under that process's own name, which beats while it has calls in
flight. No worker runs in the in-process tests here, so only the web front can have
made the calls; the last test kills a real web server mid-call and a real worker takes
the node over."""

import json
import os
import threading
import time

import pytest

from apps.runs import services
from apps.runs.models import NodeRun, Run, WorkerHeartbeat
from apps.runs.services.dispatch import InProcess
from apps.runs.triggers import workflow_runtime_get
from tests.fixtures.runs import WebhookFront, _free_port, asgi_callers, flow
from tests.fixtures.slow_http import SlowReceiver
from tests.runs.test_hooks import WEBHOOK
from tests.runs.test_io_executor import _wait

pytestmark = pytest.mark.django_db(transaction=True)


def _respond_flow(*calls, timeout_s: float = 20):
    """webhook (respond) -> each call in turn -> respond 201."""
    names = [name for name, _type, _config in calls]
    return flow(("hook", "trigger.webhook", {"mode": "respond", "respond_timeout_s": timeout_s}),
                *calls, ("respond", "flow.respond", {"status": 201, "body": "{'done': true}"}),
                edges=list(zip(["hook", *names], [*names, "respond"], strict=True)))


def test_a_respond_webhooks_http_calls_are_made_by_the_web_process_that_waits(
        publish, slow_receiver):
    receiver = slow_receiver(delay_s=0.1)
    workflow = publish(_respond_flow(("call", "http.request", {"url": receiver.url}),
                                     ("again", "http.request", {"url": receiver.url + "?n=2"})))
    status, body, _headers = WebhookFront("asgi").post(workflow, b"{}")
    assert (status, body) == (201, {"done": True})
    assert receiver.requests == 2
    rows = {row.node_id: row for row in NodeRun.objects.filter(run__workflow=workflow)}
    for node_id in ("call", "again"):  # the second one too: queued by the first's settle
        assert rows[node_id].status == "succeeded"
        assert rows[node_id].delivery_count == 1
        assert rows[node_id].worker.startswith("web@"), rows[node_id].worker
        assert rows[node_id].worker.endswith(f"#{os.getpid()}")  # this process: the front
    # It beat as the holder of those nodes, so a worker's outbox would take them over.
    assert WorkerHeartbeat.objects.filter(holder=rows["call"].worker).exists()


def test_the_caller_is_handed_its_answer_by_this_process_without_the_runs_events(
        publish, slow_receiver, monkeypatch, settings):
    # The run's events go to a Redis that does not listen (its pub/sub away), and
    # without an event the caller would read its row only every 45 s: the step that
    # answered, written in this process, hands the answer over itself.
    from apps.runs import respond

    settings.CHANNEL_LAYERS = {"default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [f"redis://127.0.0.1:{_free_port()}/0"]}}}
    monkeypatch.setattr(respond, "RECHECK_S", 45)
    receiver = slow_receiver(delay_s=0.1)
    workflow = publish(_respond_flow(("call", "http.request", {"url": receiver.url}),
                                     timeout_s=45))
    began = time.monotonic()
    status, body, _headers = WebhookFront("asgi").post(workflow, b"{}")
    assert (status, body) == (201, {"done": True})
    assert time.monotonic() - began < 15  # not after a 45 s wait for the row
    assert receiver.requests == 1


def test_a_caller_whose_run_is_cancelled_mid_call_is_answered_then(publish, slow_receiver,
                                                                   monkeypatch):
    # Its call abandoned, nothing of the run is in flight here any longer: the caller
    # reads how the run ended (its events too would say so), not after its timeout.
    from apps.runs import respond

    monkeypatch.setattr(respond, "RECHECK_S", 30)
    receiver = slow_receiver(delay_s=30)
    workflow = publish(_respond_flow(("call", "http.request", {"url": receiver.url,
                                                               "timeout_s": 60}),
                                     timeout_s=60))
    path = f"/hooks/{workflow_runtime_get(workflow=workflow).webhook_secret}/"
    with asgi_callers(path, 1) as (callers, _timed):
        _wait(lambda: receiver.in_flight == 1, 20, "the call in flight")
        began = time.monotonic()
        services.run_cancel(run=Run.objects.get(workflow=workflow))
        response = callers[0].result(timeout=20)
        assert time.monotonic() - began < 15
    assert response["status"] == 500
    assert json.loads(response["body"])["error"] == "run_failed"
    _wait(lambda: receiver.in_flight == 0, 20, "the abandoned call to hang up")


def test_switched_off_a_respond_webhooks_calls_go_to_the_workers(publish, slow_receiver,
                                                                   settings):
    settings.WEFT_RESPOND_IN_PROCESS = False
    receiver = slow_receiver(delay_s=0)
    workflow = publish(_respond_flow(("call", "http.request", {"url": receiver.url}),
                                     timeout_s=1))
    status, body, headers = WebhookFront("asgi").post(workflow, b"{}")
    assert status == 503
    assert body["code"] == "respond_timeout"
    assert headers["retry-after"] == "1"
    assert receiver.requests == 0
    assert NodeRun.objects.get(run__workflow=workflow, node_id="call").status == "queued"


def test_a_node_that_does_not_wait_on_the_network_is_left_to_the_workers(publish):
    # test.call is on the io queue but blocks a thread for its whole call: never the
    # web front's.
    workflow = publish(_respond_flow(("call", "test.call", {"url": "http://127.0.0.1:9/"}),
                                     timeout_s=1))
    status, body, _headers = WebhookFront("asgi").post(workflow, b"{}")
    assert status == 503
    assert body["code"] == "respond_timeout"
    row = NodeRun.objects.get(run__workflow=workflow, node_id="call")
    assert (row.status, row.worker) == ("queued", "")


def test_an_asynchronous_webhooks_calls_go_to_the_workers(publish, slow_receiver):
    receiver = slow_receiver(delay_s=0)
    workflow = publish(flow(("hook", "trigger.webhook"),
                            ("call", "http.request", {"url": receiver.url}),
                            edges=[("hook", "call")]))
    status, body, _headers = WebhookFront("asgi").post(workflow, b"{}")
    assert status == 202
    time.sleep(0.5)
    assert receiver.requests == 0
    assert Run.objects.get(pk=body["run_id"]).status == "running"


def test_calls_in_flight_in_the_web_process_do_not_delay_a_fast_webhook(publish,
                                                                       slow_receiver):
    receiver = slow_receiver(delay_s=30)
    slow = publish(_respond_flow(("call", "http.request", {"url": receiver.url,
                                                           "timeout_s": 60}),
                                 timeout_s=60), name="Slow")
    fast = publish(WEBHOOK, name="Fast")
    slow_path = f"/hooks/{workflow_runtime_get(workflow=slow).webhook_secret}/"
    fast_path = f"/hooks/{workflow_runtime_get(workflow=fast).webhook_secret}/"
    try:
        with asgi_callers(slow_path, 64) as (callers, timed):
            # This process makes their calls: as many at once as its per-host cap lets.
            _wait(lambda: receiver.in_flight >= 32, 30, "the slow runs' calls in flight")
            response, took = timed(fast_path, b'{"n": 3}')
            assert response["status"] == 201
            assert json.loads(response["body"])["n"] == 3
            assert took < 5, took  # not behind the 64 slow calls (each answers after 30 s)
            assert not any(caller.done() for caller in callers)
            assert receiver.requests == receiver.in_flight  # none answered yet
    finally:
        for run in Run.objects.filter(workflow=slow):  # their calls are abandoned
            services.run_cancel(run=run)
        _wait(lambda: receiver.in_flight == 0, 20, "the abandoned calls to hang up")


# --- A web server killed mid-call -------------------------------------------------------------

@pytest.fixture(scope="module")
def web_receiver():
    receiver = SlowReceiver(delay_s=4.0)
    yield receiver
    receiver.close()


@pytest.fixture(scope="module")
def killable(fault_stack_factory, web_receiver):
    graph = _respond_flow(("call", "http.request", {"url": web_receiver.url, "timeout_s": 30}))
    return fault_stack_factory(
        {"answer": graph}, workers={"w1": None},
        env={"WEFT_HOLDER_DEAD_S": "3", "WEFT_HEARTBEAT_S": "1", "WEFT_OUTBOX_EVERY_S": "1",
             "WEFT_HTTP_ALLOW_HOSTS": "127.0.0.1/32"})


@pytest.mark.slow
def test_a_web_server_killed_mid_call_loses_no_run_and_commits_the_node_once(
        killable, web_receiver):
    answered = {}
    caller = threading.Thread(target=lambda: answered.update(
        answer=killable.post("answer", {"n": 1}, timeout=60)))
    caller.start()
    deadline = time.monotonic() + 30
    while web_receiver.in_flight < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert web_receiver.in_flight == 1, killable.log("web")
    (run_id, holder, deliveries), = killable.sql(
        "SELECT run_id::text, worker, delivery_count FROM runs_noderun WHERE node_id = 'call'")
    assert holder.startswith("web@")
    assert deliveries == 1
    killable.kill("web")
    caller.join(30)
    assert answered["answer"][0] == 0  # its connection died with the server
    killable.wait_finished([run_id], timeout=60)
    assert killable.statuses([run_id]) == {run_id: "succeeded"}
    rows = killable.sql("SELECT node_id, status, worker, delivery_count FROM runs_noderun "
                        "WHERE run_id::text = %s ORDER BY node_id", [run_id])
    assert [(node, status) for node, status, _w, _d in rows] == [
        ("call", "succeeded"), ("hook", "succeeded"), ("respond", "succeeded")]
    (_node, _status, worker, deliveries), = [row for row in rows if row[0] == "call"]
    assert worker.startswith("w1@")
    assert deliveries == 2
    assert web_receiver.requests == 2
    assert web_receiver.hung_up >= 1


def test_a_heartbeat_that_fails_leaves_no_slot_taken(publish, slow_receiver):
    from django.db import DatabaseError, connection

    from apps.runs import io_executor

    receiver = slow_receiver(delay_s=0)
    workflow = publish(flow(("start", "trigger.manual"),
                            ("call", "http.request", {"url": receiver.url}),
                            edges=[("start", "call")]))
    run = services.run_start(workflow=workflow)  # queued for a worker (none runs here)
    pk = NodeRun.objects.get(run=run, node_id="call").pk
    executor = io_executor.IOExecutor(concurrency=1, per_host=1)
    # PostgreSQL refuses the heartbeat (as it would any statement while it is away).
    with connection.cursor() as cursor:
        cursor.execute(_REFUSE_HEARTBEATS)
    try:
        with pytest.raises(DatabaseError, match="heartbeats refused"):
            executor.execute_here(node_run_id=pk, here=InProcess())
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER weft_test_refuse ON runs_workerheartbeat; "
                           "DROP FUNCTION weft_test_refuse()")
    assert executor.execute_here(node_run_id=pk, here=InProcess()) is True  # its one slot is free again
    _wait(lambda: Run.objects.get(pk=run.pk).status == "succeeded", 20, "the run")
    assert receiver.requests == 1


_REFUSE_HEARTBEATS = """
CREATE FUNCTION weft_test_refuse() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN RAISE EXCEPTION 'heartbeats refused'; END $$;
CREATE TRIGGER weft_test_refuse BEFORE INSERT OR UPDATE ON runs_workerheartbeat
FOR EACH ROW EXECUTE FUNCTION weft_test_refuse();
"""
