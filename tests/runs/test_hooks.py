"""The webhook's own ASGI front (apps.runs.webhook_front) and the cost of a webhook run."""

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from channels.testing import HttpCommunicator
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.runs import triggers
from apps.runs.models import NodeRun, Run
from config.asgi import application
from tests.fixtures.runs import flow, webhook_signature

WEBHOOK = flow(("hook", "trigger.webhook", {"mode": "respond"}),
               ("set", "data.set", {"keep_input": True,
                                    "fields": [{"name": "seen", "value": "input.n > 0"}]}),
               ("if", "control.if", {"condition": "input.seen"}),
               ("respond", "flow.respond", {"status": 201,
                                            "body": "{'n': input.n, 'run': run.id}"}),
               edges=[("hook", "set"), ("set", "if"), ("if", "true", "respond", "in")])


def _call(method, path, body=b"", headers=()):
    async def go():
        communicator = HttpCommunicator(application, method, path, body=body,
                                        headers=[(b"content-type", b"application/json"),
                                                 *headers])
        return await communicator.get_response(timeout=10)

    with ThreadPoolExecutor(1) as pool:  # its own event loop, whatever this thread has
        return pool.submit(asyncio.run, go()).result(timeout=30)


@pytest.mark.django_db(transaction=True)
def test_the_asgi_front_answers_webhooks_like_the_view(publish):
    workflow = publish(WEBHOOK)
    secret = triggers.workflow_runtime_get(workflow=workflow).webhook_secret
    response = _call("POST", f"/hooks/{secret}/", json.dumps({"n": 3}).encode(),
                     [(b"x-request-id", b"req-1")])
    assert response["status"] == 201
    headers = dict(response["headers"])
    run = Run.objects.get(pk=headers[b"x-weft-run-id"].decode())
    assert json.loads(response["body"]) == {"n": 3, "run": str(run.pk)}
    assert headers[b"x-request-id"] == b"req-1"
    assert run.status == "succeeded"
    assert NodeRun.objects.filter(run=run).count() == 4
    assert _call("GET", f"/hooks/{secret}/")["status"] == 405
    assert _call("POST", "/hooks/nope/", b"{}")["status"] == 404
    assert _call("POST", f"/hooks/{secret}/", b"{nope")["status"] == 400
    big = json.dumps({"x": "y" * (1024 * 1024)}).encode()
    assert _call("POST", f"/hooks/{secret}/", big)["status"] == 413
    assert Run.objects.count() == 1


@pytest.mark.django_db
def test_a_webhook_run_is_one_sql_statement(publish):
    """The run and its four node runs are one INSERT (its own transaction): nothing is
    read back, versions and settings come from per-process caches."""
    workflow = publish(WEBHOOK)
    secret = triggers.workflow_runtime_get(workflow=workflow).webhook_secret
    body = json.dumps({"n": 1}).encode()
    triggers.webhook_handle(secret=secret, body=body, headers={})  # fills the caches
    with CaptureQueriesContext(connection) as queries:
        status, payload, _ = triggers.webhook_handle(secret=secret, body=body, headers={})
    assert status == 201
    assert payload["n"] == 1
    assert len(queries) == 1, [q["sql"][:80] for q in queries]
    assert queries[0]["sql"].startswith("WITH new_run AS (INSERT INTO runs_run")


@pytest.mark.django_db
def test_a_signed_webhook_run_is_one_sql_statement_too(publish):
    """A signed request's replay memory (its receipt's INSERT ... ON CONFLICT) is the
    guard of the run's own INSERT: still one statement, its own transaction."""
    graph = json.loads(json.dumps(WEBHOOK))
    graph["nodes"][0]["config"]["signature_header"] = "Weft-Signature"
    workflow = publish(graph)
    runtime = triggers.workflow_runtime_get(workflow=workflow)
    body = json.dumps({"n": 1}).encode()

    def send(t):
        return triggers.webhook_handle(secret=runtime.webhook_secret, body=body, headers={
            "weft-signature": webhook_signature(runtime.signing_key, body, t=t)})

    send(int(time.time()) - 1)  # fills the caches
    with CaptureQueriesContext(connection) as queries:
        status, payload, _ = send(int(time.time()))
    assert status == 201
    assert payload["n"] == 1
    assert len(queries) == 1, [q["sql"][:80] for q in queries]
    assert queries[0]["sql"].startswith("WITH guard AS (INSERT INTO runs_requestreceipt")
    assert "new_run AS (INSERT INTO runs_run" in queries[0]["sql"]
