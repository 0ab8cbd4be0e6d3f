"""The live view of a run (/ws/runs/<id>/) through the whole ASGI stack (origin check,
session authentication, routing) and the real Redis pub/sub channel layer."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from apps.runs import events, selectors, services
from apps.runs.models import NodeRun
from config.asgi import application
from tests.fixtures.runs import flow

pytestmark = pytest.mark.django_db(transaction=True)


def _headers(session_key: str | None = None) -> list[tuple[bytes, bytes]]:
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if session_key:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_key}".encode()))
    return headers


def _session_of(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


async def _until_run_finished(communicator, timeout=10.0) -> list[dict]:
    received = []
    while True:
        event = await communicator.receive_json_from(timeout=timeout)
        received.append(event)
        if event["event"] == "run" and event["status"] in ("succeeded", "failed"):
            return received


def test_a_viewer_gets_the_snapshot_then_live_events_and_strangers_are_refused(
        publish, create_user, sent_node_runs):
    # The node's worker is this test (it calls the task's service); what is sent to the
    # broker stays there.
    workflow = publish(flow(("start", "trigger.manual"), ("work", "test.sleep", {"seconds": 0}),
                            ("after", "core.noop"),
                            edges=[("start", "work"), ("work", "after")]))
    run = services.run_start(workflow=workflow, input={"n": 1})
    work = NodeRun.objects.get(run=run, node_id="work")
    assert work.status == "queued"
    assert [pk for pk, _queue in sent_node_runs()] == [work.pk]
    viewer = _session_of(create_user(roles=["viewer"]))
    nobody = _session_of(create_user(roles=[]))
    path = f"/ws/runs/{run.pk}/"

    async def scenario():
        anonymous = WebsocketCommunicator(application, path, headers=_headers())
        assert (await anonymous.connect())[0] is False
        stranger = WebsocketCommunicator(application, path, headers=_headers(nobody))
        connected, code = await stranger.connect()
        assert connected is False
        assert code == 4403

        live = WebsocketCommunicator(application, path, headers=_headers(viewer))
        connected, _ = await live.connect()
        assert connected
        snapshot = await live.receive_json_from(timeout=5)
        assert snapshot["event"] == "snapshot"
        assert snapshot["run"]["id"] == str(run.pk)
        assert snapshot["run"]["status"] == "running"
        # The run's start was published before: the snapshot shows it and carries its number.
        assert snapshot["seq"] >= 1
        assert {n["node_id"]: n["status"] for n in snapshot["run"]["node_runs"]} == {
            "start": "succeeded", "work": "queued"}
        # A worker picks the node up: its events reach the page as they happen.
        outcome = await database_sync_to_async(services.node_run_execute)(
            node_run_id=work.pk, worker="w1")
        assert outcome == "succeeded"
        events = await _until_run_finished(live)
        await live.disconnect()
        return snapshot, events

    # Its own thread and event loop: a browser test earlier in the session may leave
    # one running in this thread.
    with ThreadPoolExecutor(1) as pool:
        snapshot, events = pool.submit(asyncio.run, scenario()).result(timeout=60)
    nodes = [(e["node_id"], e["status"]) for e in events if e["event"] == "node"]
    assert nodes == [("work", "running"), ("work", "succeeded"), ("after", "running"),
                     ("after", "succeeded")]
    assert {k: v for k, v in events[-1].items() if k != "seq"} == {
        "event": "run", "run_id": str(run.pk), "status": "succeeded"}
    assert all(e["run_id"] == str(run.pk) for e in events)
    # Every live event is numbered after the snapshot's number, one up each time.
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(snapshot["seq"] + 1, snapshot["seq"] + 1 + len(events)))
    run.refresh_from_db()
    assert run.event_seq == seqs[-1]


def test_an_event_numbered_before_a_snapshot_is_shown_by_it(publish):
    """The race a client meets: events published between joining the group and reading
    the snapshot arrive after the snapshot, and must not move the canvas backwards."""
    workflow = publish(flow(("start", "trigger.manual"), ("work", "test.sleep", {"seconds": 0}),
                            edges=[("start", "work")]))
    run = services.run_start(workflow=workflow, input={})
    before = [{"event": "node", "run_id": str(run.pk), "node_id": "work", "status": "queued"}]
    events.stamp_run_events(str(run.pk), before)
    detail, seq, _run = selectors.run_snapshot(run_id=run.pk)
    assert before[0]["seq"] == seq  # at or below the snapshot's number: dropped
    after = [{"event": "node", "run_id": str(run.pk), "node_id": "work", "status": "running"},
             {"event": "run", "run_id": str(run.pk), "status": "succeeded"}]
    events.stamp_run_events(str(run.pk), after)
    assert [e["seq"] for e in after] == [seq + 1, seq + 2]
    assert selectors.run_snapshot(run_id=run.pk)[1] == seq + 2
    assert detail["id"] == str(run.pk)


def test_a_steps_events_are_numbered_by_the_statement_that_writes_it(publish):
    """No UPDATE of its own to number a step's events: the run's count goes up in the
    step's write, so the number commits with the change it tells of."""
    import redis
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    workflow = publish(flow(("start", "trigger.manual"), ("work", "test.sleep", {"seconds": 0}),
                            ("after", "core.noop"), edges=[("start", "work"), ("work", "after")]))
    services.run_start(workflow=workflow, input={})  # fills the caches
    layer = events.pubsub_layer()  # the run's messages, as Redis carries them
    listener = redis.Redis.from_url(layer.url).pubsub(ignore_subscribe_messages=True)
    listener.psubscribe(layer.channel(events.run_group("*")))
    listener.get_message(timeout=1)  # the subscription confirmed
    with CaptureQueriesContext(connection) as queries:  # a new run: its one INSERT
        run = services.run_start(workflow=workflow, input={})
    assert len(queries) == 1, [q["sql"][:60] for q in queries]
    work = NodeRun.objects.get(run=run, node_id="work")
    with CaptureQueriesContext(connection) as queries:  # a worker's claim, then its step
        assert services.node_run_execute(node_run_id=work.pk, worker="w1") == "succeeded"
    numbering = [q["sql"][:60] for q in queries if q["sql"].startswith("UPDATE runs_run SET "
                                                                         "event_seq")]
    assert numbering == []  # the claim numbers its "running" event itself
    sent = []
    while (message := listener.get_message(timeout=2)) is not None:
        if message["channel"].decode() == layer.channel(events.run_group(str(run.pk))):
            sent.append(layer.serializer.deserialize(message["data"]))
    listener.close()
    seqs = [e["seq"] for m in sent for e in m["events"]]
    assert seqs == list(range(1, len(seqs) + 1))
    assert len(seqs) >= 6  # the start's, the claim's and the step's events
    run.refresh_from_db()
    assert run.event_seq == seqs[-1]


def test_a_claim_numbers_its_event_unless_a_step_holds_the_run(publish):
    """The claim counts its "running" event with the run's other events; while a step
    of the run holds the run's row, it does not wait for it (that step may be about to
    cancel this very node): the event is then numbered when it is published."""
    import psycopg
    from django.db import connection

    from apps.runs import rows

    workflow = publish(flow(("start", "trigger.manual"), ("a", "test.sleep", {"seconds": 0}),
                            ("b", "test.sleep", {"seconds": 0}),
                            edges=[("start", "a"), ("start", "b")]))
    run = services.run_start(workflow=workflow, input={})
    run.refresh_from_db()
    first = NodeRun.objects.get(run=run, node_id="a").pk
    claim = rows.node_run_claim(first, holder="w1#1", lease_s=30, dead_after_s=10)
    assert claim.event_seq == run.event_seq + 1
    counted = claim.event_seq
    second = NodeRun.objects.get(run=run, node_id="b").pk
    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"},
                         autocommit=False) as other:
        other.execute("SELECT id FROM runs_run WHERE id = %s FOR NO KEY UPDATE", [run.pk])
        claim = rows.node_run_claim(second, holder="w1#1", lease_s=30, dead_after_s=10)
        assert claim is not None  # claimed, without waiting for the other transaction
        assert claim.event_seq is None
        other.rollback()
    run.refresh_from_db()
    assert run.event_seq == counted  # the second claim's event is left to its publisher
    assert NodeRun.objects.get(pk=second).status == "running"


def test_the_runs_page_feed_says_which_run_changed(publish, create_user):
    workflow = publish(flow(("start", "trigger.manual"), ("set", "test.set", {"values": {}}),
                            edges=[("start", "set")]))
    viewer = _session_of(create_user(roles=["viewer"]))
    nobody = _session_of(create_user(roles=[]))

    async def scenario():
        stranger = WebsocketCommunicator(application, "/ws/runs/", headers=_headers(nobody))
        assert (await stranger.connect())[1] == 4403
        live = WebsocketCommunicator(application, "/ws/runs/", headers=_headers(viewer))
        assert (await live.connect())[0]
        run = await database_sync_to_async(services.run_start)(workflow=workflow, input={})
        event = await live.receive_json_from(timeout=5)
        await live.disconnect()
        return run, event

    with ThreadPoolExecutor(1) as pool:
        run, event = pool.submit(asyncio.run, scenario()).result(timeout=60)
    assert event == {"event": "run", "run_id": str(run.pk), "status": "succeeded"}


def test_the_live_view_shows_a_run_of_a_deleted_workflow_as_its_page_does(publish,
                                                                          create_user):
    from apps.workflows.services import workflow_delete

    workflow = publish(flow(("start", "trigger.manual"), ("set", "test.set", {"values": {}}),
                            edges=[("start", "set")]))
    run = services.run_start(workflow=workflow, input={})
    workflow_delete(workflow=workflow, user=workflow.owner)
    viewer = _session_of(create_user(roles=["viewer"]))

    async def scenario():
        live = WebsocketCommunicator(application, f"/ws/runs/{run.pk}/",
                                     headers=_headers(viewer))
        connected, _ = await live.connect()
        assert connected
        snapshot = await live.receive_json_from(timeout=5)
        await live.disconnect()
        return snapshot

    with ThreadPoolExecutor(1) as pool:
        snapshot = pool.submit(asyncio.run, scenario()).result(timeout=60)
    assert snapshot["event"] == "snapshot"
    assert snapshot["run"]["id"] == str(run.pk)
    assert snapshot["run"]["status"] == "succeeded"
