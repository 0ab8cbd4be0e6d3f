"""Webhooks that resist replay: timestamped signatures, a repeated request answering with
its first run, idempotency keys on webhooks and on the run-start API. Every webhook test
runs through both server fronts (Django's view and the ASGI front)."""

import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from rest_framework.test import APIClient

from apps.runs import replay, services, triggers
from apps.runs.models import ReceiptKind, RequestReceipt, Run
from apps.workflows.models import Workflow
from tests.fixtures.runs import flow, webhook_signature

pytestmark = pytest.mark.django_db(transaction=True)

HEADER = "Weft-Signature"
SIGNED = flow(("hook", "trigger.webhook", {"signature_header": HEADER}), ("a", "core.noop"),
              edges=[("hook", "a")])
SIGNED_RESPOND = flow(
    ("hook", "trigger.webhook", {"signature_header": HEADER, "mode": "respond"}),
    ("respond", "flow.respond", {"status": 201, "body": "{'n': input.n, 'run': run.id}"}),
    edges=[("hook", "respond")])
UNSIGNED = flow(("hook", "trigger.webhook"), ("a", "core.noop"), edges=[("hook", "a")])


def _key(workflow) -> str:
    return triggers.workflow_runtime_get(workflow=workflow).signing_key


def _legacy(signing_key: str, body: bytes) -> str:
    return "sha256=" + hmac.new(signing_key.encode(), body, hashlib.sha256).hexdigest()


def test_a_timestamped_signature_is_accepted(webhook_front, publish):
    workflow = publish(SIGNED)
    body = b'{"a": 1}'
    status, payload, headers = webhook_front.post(
        workflow, body, {HEADER: webhook_signature(_key(workflow), body)})
    assert status == 202, payload
    run = Run.objects.get()
    assert payload == {"run_id": str(run.pk), "status": "succeeded"}
    assert "idempotent-replayed" not in headers
    # Several v1 values (a sender rotating keys): one that matches is enough.
    body = b'{"a": 2}'
    t = int(time.time())
    good = webhook_signature(_key(workflow), body, t=t).split("v1=")[1]
    status, payload, _ = webhook_front.post(
        workflow, body, {HEADER: f"t={t},v1={'0' * 64},v0=ignored,v1={good}"})
    assert status == 202, payload
    assert Run.objects.count() == 2


@pytest.mark.parametrize(("offset", "code"), [(-305, "signature_expired"),
                                          (305, "signature_in_future")])
def test_timestamps_outside_the_window_are_refused(webhook_front, publish, offset, code):
    workflow = publish(SIGNED)
    body = b'{"a": 1}'
    signature = webhook_signature(_key(workflow), body, t=int(time.time()) + offset)
    status, payload, _ = webhook_front.post(workflow, body, {HEADER: signature})
    assert status == 401
    assert payload["code"] == code
    assert "300 seconds" in payload["detail"]
    assert not Run.objects.exists()
    assert not RequestReceipt.objects.exists()


def test_the_tolerance_is_a_setting(webhook_front, publish, settings):
    settings.WEFT_WEBHOOK_TOLERANCE_S = 30
    workflow = publish(SIGNED)
    body = b'{"a": 1}'
    signature = webhook_signature(_key(workflow), body, t=int(time.time()) - 60)
    status, payload, _ = webhook_front.post(workflow, body, {HEADER: signature})
    assert (status, payload["code"], payload["tolerance_s"]) == (401, "signature_expired", 30)


def test_missing_malformed_and_tampered_signatures_are_refused(webhook_front, publish):
    workflow = publish(SIGNED)
    body = b'{"amount": 10}'
    signature = webhook_signature(_key(workflow), body)
    cases = [
        ({}, 401, "signature_missing"),
        ({HEADER: "t=abc,v1=zz"}, 400, "signature_malformed"),
        ({HEADER: f"t=1,t=2,v1={'a' * 64}"}, 400, "signature_malformed"),
        ({HEADER: "nonsense"}, 400, "signature_malformed"),
        ({HEADER: webhook_signature("another key", body)}, 401, "bad_signature"),
    ]
    for headers, status_code, code in cases:
        status, payload, _ = webhook_front.post(workflow, body, headers)
        assert (status, payload["code"]) == (status_code, code), (headers, payload)
        assert payload["header"] == HEADER
        assert HEADER in payload["detail"]
    status, payload, _ = webhook_front.post(workflow, b'{"amount": 10000}', {HEADER: signature})
    assert (status, payload["code"]) == (401, "bad_signature")
    assert not Run.objects.exists()


def test_a_replayed_signature_answers_with_the_first_run(webhook_front, publish):
    workflow = publish(SIGNED)
    body = b'{"a": 1}'
    signed_at = int(time.time())
    headers = {HEADER: webhook_signature(_key(workflow), body, t=signed_at)}
    status, first, _ = webhook_front.post(workflow, body, headers)
    assert status == 202
    for _ in range(2):
        status, again, answer = webhook_front.post(workflow, body, headers)
        assert status == 202
        assert again == {"run_id": first["run_id"], "status": "succeeded"}
        assert answer["idempotent-replayed"] == "true"
        assert answer["x-weft-run-id"] == first["run_id"]
    assert Run.objects.count() == 1
    # A new timestamp is a new request.
    status, other, _ = webhook_front.post(
        workflow, body, {HEADER: webhook_signature(_key(workflow), body, t=signed_at - 1)})
    assert status == 202
    assert other["run_id"] != first["run_id"]
    assert Run.objects.count() == 2


def test_a_replayed_respond_request_returns_the_first_result(webhook_front, publish):
    workflow = publish(SIGNED_RESPOND)
    body = json.dumps({"n": 7}).encode()
    headers = {HEADER: webhook_signature(_key(workflow), body)}
    status, first, first_headers = webhook_front.post(workflow, body, headers)
    run = Run.objects.get()
    assert (status, first) == (201, {"n": 7, "run": str(run.pk)})
    status, again, again_headers = webhook_front.post(workflow, body, headers)
    assert (status, again) == (201, first)
    assert again_headers["x-weft-run-id"] == first_headers["x-weft-run-id"] == str(run.pk)
    assert Run.objects.count() == 1


def test_the_legacy_signature_is_refused_unless_the_workflow_enables_it(
        webhook_front, publish, editor_client):
    workflow = publish(SIGNED)
    assert workflow.webhook_legacy_signature is False
    body = b'{"a": 1}'
    legacy = {HEADER: _legacy(_key(workflow), body)}
    status, payload, _ = webhook_front.post(workflow, body, legacy)
    assert (status, payload["code"], payload["header"]) == (401, "signature_legacy_refused",
                                                            HEADER)
    assert not Run.objects.exists()
    url = f"/api/workflows/{workflow.pk}/runtime/"
    assert editor_client.get(url).data["webhook_legacy_signature"] is False
    changed = editor_client.patch(url, {"webhook_legacy_signature": True}, format="json")
    assert changed.status_code == 200
    assert changed.data["webhook_legacy_signature"] is True
    assert editor_client.get(url).data["webhook_legacy_signature"] is True
    status, payload, _ = webhook_front.post(workflow, body, legacy)
    assert status == 202, payload
    # Still checked against the body, and the timestamped scheme still works.
    status, payload, _ = webhook_front.post(workflow, b'{"a": 2}', legacy)
    assert (status, payload["code"]) == (401, "bad_signature")
    status, _, _ = webhook_front.post(workflow, body,
                                      {HEADER: webhook_signature(_key(workflow), body)})
    assert status == 202
    assert Run.objects.count() == 2
    editor_client.patch(url, {"webhook_legacy_signature": False}, format="json")
    status, payload, _ = webhook_front.post(workflow, body, legacy)
    assert status == 401


def test_workflows_that_existed_before_keep_the_legacy_signature(create_workflow, create_user):
    user = create_user()
    executor = MigrationExecutor(connection)
    executor.migrate([("workflows", "0002_ordering")])
    executor.loader.build_graph()
    accounts = [node for node in executor.loader.graph.leaf_nodes() if node[0] == "accounts"]
    old = executor.loader.project_state([("workflows", "0002_ordering"), *accounts]).apps
    before = old.get_model("workflows", "Workflow").objects.create(name="before",
                                                                   owner_id=user.pk)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert Workflow.objects.get(pk=before.pk).webhook_legacy_signature is True
    assert create_workflow().webhook_legacy_signature is False


def test_an_idempotency_key_on_a_webhook_answers_with_the_first_run(webhook_front, publish):
    workflow = publish(UNSIGNED)
    body = b'{"order": 1}'
    status, first, _ = webhook_front.post(workflow, body, {"Idempotency-Key": "order-1"})
    assert status == 202
    status, again, headers = webhook_front.post(workflow, body, {"Idempotency-Key": "order-1"})
    assert (status, again) == (202, first)
    assert headers["idempotent-replayed"] == "true"
    assert Run.objects.count() == 1
    status, payload, _ = webhook_front.post(workflow, b'{"order": 2}',
                                            {"Idempotency-Key": "order-1"})
    assert status == 422
    assert payload["code"] == "idempotency_key_reused"
    assert (payload["header"], payload["key"]) == ("Idempotency-Key", "order-1")
    assert "'order-1'" in payload["detail"]
    status, payload, _ = webhook_front.post(workflow, body, {"Idempotency-Key": "x" * 256})
    assert (status, payload["header"]) == (400, "Idempotency-Key")
    status, other, _ = webhook_front.post(workflow, body, {"Idempotency-Key": "order-2"})
    assert status == 202
    assert other["run_id"] != first["run_id"]
    assert Run.objects.count() == 2
    # A signed request with a key: a replay under another key is still a replay.
    signed = publish(SIGNED)
    signature = webhook_signature(_key(signed), body)
    status, first, _ = webhook_front.post(signed, body, {HEADER: signature,
                                                         "Idempotency-Key": "a"})
    status, again, _ = webhook_front.post(signed, body, {HEADER: signature,
                                                         "Idempotency-Key": "b"})
    assert again["run_id"] == first["run_id"]
    assert Run.objects.filter(workflow=signed).count() == 1


def test_an_idempotency_key_on_the_run_start_api(editor_client, publish):
    workflow = publish(flow(("start", "trigger.manual"), ("a", "core.noop"),
                            edges=[("start", "a")]))
    url = f"/api/workflows/{workflow.pk}/runs/"
    first = editor_client.post(url, {"input": {"x": 1, "y": 2}}, format="json",
                               HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201
    again = editor_client.post(url, {"input": {"y": 2, "x": 1}}, format="json",
                               HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 201
    assert again.data == first.data
    assert again["Idempotent-Replayed"] == "true"
    assert Run.objects.count() == 1
    other = editor_client.post(url, {"input": {"x": 2}}, format="json",
                               HTTP_IDEMPOTENCY_KEY="k-1")
    assert other.status_code == 422
    assert (other.data["code"], other.data["key"]) == ("idempotency_key_reused", "k-1")
    bad = editor_client.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="\x01")
    assert (bad.status_code, bad.data["header"]) == (400, "Idempotency-Key")
    assert editor_client.post(url, {}, format="json").data["id"] != first.data["id"]
    assert Run.objects.count() == 2
    # After 24 hours the key starts a new run, and the sweep deletes what has expired.
    RequestReceipt.objects.update(created_at=timezone.now() - timedelta(hours=25))
    later = editor_client.post(url, {"input": {"x": 1, "y": 2}}, format="json",
                               HTTP_IDEMPOTENCY_KEY="k-1")
    assert later.status_code == 201
    assert later.data["id"] != first.data["id"]
    assert Run.objects.count() == 3
    assert str(RequestReceipt.objects.get().run_id) == later.data["id"]
    RequestReceipt.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert services.runs_sweep()["receipts"] == 1
    assert not RequestReceipt.objects.exists()


def test_the_sweep_forgets_signatures_after_the_window(webhook_front, publish):
    workflow = publish(SIGNED)
    body = b"{}"
    webhook_front.post(workflow, body, {HEADER: webhook_signature(_key(workflow), body)})
    webhook_front.post(workflow, body, {"Idempotency-Key": "kept",
                                        HEADER: webhook_signature(_key(workflow), body,
                                                                  t=int(time.time()) - 2)})
    assert replay.receipts_sweep() == 0
    RequestReceipt.objects.filter(kind=ReceiptKind.SIGNATURE).update(
        created_at=timezone.now() - timedelta(minutes=15))
    assert replay.receipts_sweep() == 2
    assert list(RequestReceipt.objects.values_list("kind", flat=True)) == ["webhook_key"]


def _at_once(count, send):
    """`send()` from `count` threads released together; their answers."""
    barrier = threading.Barrier(count)
    answers = [None] * count

    def go(i):
        barrier.wait()
        try:
            answers[i] = send()
        finally:
            connection.close()

    threads = [threading.Thread(target=go, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


def test_identical_requests_at_once_start_one_run(webhook_front, publish):
    workflow = publish(SIGNED_RESPOND)
    body = b'{"n": 1}'
    headers = {HEADER: webhook_signature(_key(workflow), body)}
    answers = _at_once(6, lambda: webhook_front.post(workflow, body, headers))
    run = Run.objects.get()
    assert [(status, payload) for status, payload, _ in answers] == [
        (201, {"n": 1, "run": str(run.pk)})] * 6
    keyed = publish(UNSIGNED)
    answers = _at_once(6, lambda: webhook_front.post(keyed, body, {"Idempotency-Key": "once"}))
    assert len({payload["run_id"] for _, payload, _ in answers}) == 1
    assert Run.objects.filter(workflow=keyed).count() == 1


def test_identical_run_starts_at_once_start_one_run(client_for, publish):
    workflow = publish(flow(("start", "trigger.manual"), ("a", "core.noop"),
                            edges=[("start", "a")]))
    editor = client_for("editor")
    token = editor._credentials["HTTP_AUTHORIZATION"]

    def send():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=token)
        response = client.post(f"/api/workflows/{workflow.pk}/runs/", {"input": {"a": 1}},
                               format="json", HTTP_IDEMPOTENCY_KEY="same")
        return response.status_code, response.data["id"]

    answers = _at_once(6, send)
    assert {status for status, _ in answers} == {201}
    assert len({run_id for _, run_id in answers}) == 1
    assert Run.objects.count() == 1


def test_an_idempotency_key_holds_for_a_run_that_waits_for_a_slot(editor_client, publish):
    """With a concurrency limit reached, the keyed run is queued (written apart from
    the engine's step): its key still answers with it."""
    workflow = publish(flow(("start", "trigger.manual"), ("wait", "control.delay"),
                            edges=[("start", "wait")]))
    editor_client.patch(f"/api/workflows/{workflow.pk}/runtime/", {"max_concurrency": 1},
                        format="json")
    url = f"/api/workflows/{workflow.pk}/runs/"
    assert editor_client.post(url, {}, format="json").data["status"] in ("running", "waiting")
    queued = editor_client.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="q")
    assert queued.data["status"] == "queued"
    again = editor_client.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="q")
    assert again.data["id"] == queued.data["id"]
    assert Run.objects.count() == 2
