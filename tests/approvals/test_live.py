"""Human review against the running product: concurrent decisions as real HTTP requests
to a live ASGI server (exactly one counts), and the inbox's WebSocket through the whole
ASGI stack and the real Redis channel layer (tasks arrive and leave without a reload)."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from apps.accounts.services import token_create
from apps.approvals.models import Task, Vote
from apps.audit.models import AuditEvent
from apps.runs import services as runs
from apps.runs.models import NodeRun
from config.asgi import application
from tests.fixtures.approvals import approval_flow

pytestmark = pytest.mark.django_db(transaction=True)
RACES = 50


def test_two_reviewers_deciding_at_once_one_decision_counts(
        live_web, publish, create_user, create_team):
    ann = create_user(username="ann", roles=["reviewer"])
    bob = create_user(username="bob", roles=["reviewer"])
    create_team(name="Billing", members=[ann, bob])
    workflow = publish(approval_flow())
    tasks = [Task.objects.get(run=runs.run_start(workflow=workflow, input={"number": n}))
             for n in range(RACES)]
    tokens = {name: token_create(user=user, name="race")[1]
              for name, user in (("ann", ann), ("bob", bob))}
    outcomes: dict[str, list[tuple[str, int, dict]]] = {}

    def decide(client: httpx.Client, who: str, task: Task, barrier: threading.Barrier,
               decision: str) -> None:
        barrier.wait()
        response = client.post(f"/api/tasks/{task.pk}/decide/",
                               json={"decision": decision, "comment": f"{who} says so"})
        outcomes.setdefault(str(task.pk), []).append((who, response.status_code,
                                                       response.json()))

    clients = {who: httpx.Client(base_url=live_web.url, timeout=30,
                                 headers={"Authorization": f"Token {token}"})
               for who, token in tokens.items()}
    try:
        for task in tasks:
            barrier = threading.Barrier(2)
            threads = [threading.Thread(target=decide, args=(clients["ann"], "ann", task,
                                                             barrier, "approved")),
                       threading.Thread(target=decide, args=(clients["bob"], "bob", task,
                                                             barrier, "rejected"))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
    finally:
        for client in clients.values():
            client.close()
    for task in tasks:
        answers = sorted(outcomes[str(task.pk)], key=lambda a: a[1])
        (winner, ok, body), (loser, conflict, refusal) = answers
        assert (ok, conflict) == (200, 409), answers
        assert refusal["code"] == "already_decided"
        assert refusal["decided_by"] == winner != loser
        task.refresh_from_db()
        assert task.decided_by.username == winner
        assert Vote.objects.filter(task=task).count() == 1
        port = "ok" if task.decision == "approved" else "no"
        assert NodeRun.objects.get(run_id=task.run_id, node_id=port).status == "succeeded"
        assert AuditEvent.objects.filter(action="task.decided",
                                         target_id=str(task.pk)).count() == 1


def _headers(user) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    return [(b"origin", b"http://testserver"), (b"host", b"testserver"),
            (b"cookie", f"{settings.SESSION_COOKIE_NAME}={session}".encode())]


def test_the_inbox_socket_shows_tasks_arrive_and_leave(publish, create_user, create_team):
    ann = create_user(username="ann", roles=["reviewer"])
    outsider = create_user(username="eve", roles=["reviewer"])
    create_team(name="Billing", members=[ann])
    workflow = publish(approval_flow())

    async def scenario():
        stranger = WebsocketCommunicator(application, "/ws/inbox/",
                                         headers=[(b"origin", b"http://testserver"),
                                                  (b"host", b"testserver")])
        assert (await stranger.connect())[0] is False
        inbox = WebsocketCommunicator(application, "/ws/inbox/", headers=_headers(ann))
        assert (await inbox.connect())[0]
        snapshot = await inbox.receive_json_from(timeout=5)
        assert snapshot["event"] == "snapshot"
        other = WebsocketCommunicator(application, "/ws/inbox/", headers=_headers(outsider))
        assert (await other.connect())[0]
        await other.receive_json_from(timeout=5)
        run = await database_sync_to_async(runs.run_start)(
            workflow=workflow, input={"number": "INV-42"})
        arrived = await inbox.receive_json_from(timeout=10)
        assert arrived["event"] == "task"
        assert arrived["change"] == "updated"
        assert arrived["task"]["title"] == "Invoice INV-42"
        assert arrived["seq"] > snapshot["seq"]
        task = await database_sync_to_async(Task.objects.get)(run=run)
        from apps.approvals.services import task_claim

        await database_sync_to_async(task_claim)(task=task, user=ann)
        claimed = await inbox.receive_json_from(timeout=10)
        assert claimed["task"]["claimed_by"]["username"] == "ann"
        assert claimed["seq"] > arrived["seq"]
        await database_sync_to_async(runs.run_cancel)(run=run)
        gone = await inbox.receive_json_from(timeout=10)
        assert gone["task"]["status"] == "cancelled"
        # Someone outside the task's teams hears nothing of it.
        assert await other.receive_nothing(timeout=0.5)
        await inbox.disconnect()
        await other.disconnect()

    # Its own thread and event loop: a browser test earlier in the session may leave
    # one running in this thread.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, scenario()).result(timeout=120)
