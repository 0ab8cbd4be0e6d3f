import hashlib
import hmac
import json
import time

import pytest

from apps.runs.models import NodeRun, Run
from apps.workflows.services import workflow_publish
from tests.fixtures.runs import flow

pytestmark = pytest.mark.django_db

WEBHOOK = flow(("hook", "trigger.webhook", {"mode": "respond"}),
               ("set", "test.set", {"values": {"seen": True}}),
               ("if", "test.if", {"field": "seen"}),
               ("respond", "flow.respond", {"status": 201}),
               edges=[("hook", "set"), ("set", "if"), ("if", "true", "respond", "in")])


def test_start_a_run_and_read_it(editor_client, publish):
    workflow = publish(flow(("start", "trigger.manual"), ("a", "core.noop"),
                            edges=[("start", "a")]))
    created = editor_client.post(f"/api/workflows/{workflow.pk}/runs/", {"input": {"x": 1}},
                                 format="json")
    assert created.status_code == 201, created.data
    body = created.data
    assert set(body) >= {"id", "workflow", "version", "status", "trigger", "created_at",
                         "started_at", "finished_at", "error", "node_runs"}
    assert body["status"] == "succeeded"
    assert body["version"] == 1
    assert body["node_runs"][1] == {
        "node_id": "a", "status": "succeeded", "attempt": 1, "inputs": {"in": {"x": 1}},
        "outputs": {"out": {"x": 1}}, "error": None,
        "started_at": body["node_runs"][1]["started_at"],
        "finished_at": body["node_runs"][1]["finished_at"], "items_url": None,
        "items_count": None, "task_id": None, "task_title": None}
    listing = editor_client.get(f"/api/runs/?workflow={workflow.pk}&status=succeeded")
    assert len(listing.data["results"]) == 1
    assert set(listing.data["results"][0]) == {
        "id", "short_id", "workflow", "workflow_name", "workflow_deleted", "version", "mode", "status", "trigger",
        "started_by", "created_at", "started_at", "finished_at", "duration_ms", "error"}
    assert listing.data["results"][0]["mode"] == "production"
    assert listing.data["results"][0]["started_by"] == f"{editor_client.user.username} (token test)"
    assert editor_client.get("/api/runs/?status=failed").data["results"] == []


def test_a_never_published_workflow_cannot_run(editor_client, create_workflow):
    workflow = create_workflow()
    response = editor_client.post(f"/api/workflows/{workflow.pk}/runs/", {}, format="json")
    assert response.status_code == 400
    assert response.data["code"] == "not_published"
    assert not Run.objects.exists()


def test_publish_refuses_invalid_cel_naming_the_node(editor_client, create_workflow):
    graph = flow(("hook", "trigger.webhook"), ("respond", "flow.respond", {"body": "input +"}),
                 edges=[("hook", "respond")])
    workflow = create_workflow(graph=graph)
    response = editor_client.post(f"/api/workflows/{workflow.pk}/publish/", {}, format="json")
    assert response.status_code == 400
    assert response.data["problems"][0]["node_id"] == "respond"
    assert "'body'" in response.data["problems"][0]["message"]


def test_cancel_and_retry_through_the_api(editor_client, publish):
    workflow = publish(flow(("start", "trigger.manual"), ("boom", "test.fail"),
                            edges=[("start", "boom")]))
    run = editor_client.post(f"/api/workflows/{workflow.pk}/runs/", {}, format="json").data
    assert run["status"] == "failed"
    assert editor_client.post(f"/api/runs/{run['id']}/cancel/").status_code == 409
    retried = editor_client.post(f"/api/runs/{run['id']}/retry/")
    assert retried.status_code == 200
    assert [n["attempt"] for n in retried.data["node_runs"] if n["node_id"] == "boom"] == [1, 2]


def _hook(client, editor_client, workflow, body, **headers):
    runtime = editor_client.get(f"/api/workflows/{workflow.pk}/runtime/").data
    path = runtime["webhook_url"].split("testserver", 1)[1]
    return client.post(path, body, content_type="application/json", headers=headers), runtime


def test_a_synchronous_webhook_answers_with_the_respond_body(client, editor_client, publish):
    workflow = publish(WEBHOOK)
    response, _ = _hook(client, editor_client, workflow, json.dumps({"a": 1}),
                        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    assert response.status_code == 201
    assert response.json() == {"a": 1, "seen": True}
    run = Run.objects.get(pk=response["X-Weft-Run-Id"])
    assert run.trace_id == "0af7651916cd43dd8448eb211c80319c"
    assert run.trigger == "webhook"
    assert NodeRun.objects.filter(run=run).count() == 4


def test_webhook_bad_input_starts_nothing(client, editor_client, publish, settings):
    workflow = publish(WEBHOOK)
    response, _ = _hook(client, editor_client, workflow, "{not json")
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"
    settings.WEFT_WEBHOOK_MAX_BYTES = 100
    response, _ = _hook(client, editor_client, workflow, json.dumps({"x": "y" * 200}))
    assert response.status_code == 413
    assert client.post("/hooks/nope/", "{}", content_type="application/json").status_code == 404
    assert not Run.objects.exists()


def test_webhook_signature(client, editor_client, publish):
    graph = flow(("hook", "trigger.webhook", {"signature_header": "X-Signature"}),
                 ("a", "core.noop"), edges=[("hook", "a")])
    workflow = publish(graph)
    body = json.dumps({"a": 1}).encode()
    response, runtime = _hook(client, editor_client, workflow, body, **{"X-Signature": "bad"})
    assert response.status_code == 400
    assert not Run.objects.exists()
    t = int(time.time())
    signature = hmac.new(runtime["signing_key"].encode(), f"{t}.".encode() + body,
                         hashlib.sha256).hexdigest()
    response, _ = _hook(client, editor_client, workflow, body,
                        **{"X-Signature": f"t={t},v1={signature}"})
    assert response.status_code == 202
    assert Run.objects.get().status == "succeeded"
    # The body-only signature of before is refused on a workflow that does not enable it.
    legacy = hmac.new(runtime["signing_key"].encode(), body, hashlib.sha256).hexdigest()
    response, _ = _hook(client, editor_client, workflow, body,
                        **{"X-Signature": f"sha256={legacy}"})
    assert response.status_code == 401
    assert response.json()["code"] == "signature_legacy_refused"


def test_kill_switch_api(admin_client, editor_client, publish):
    workflow = publish(flow(("start", "trigger.manual"), ("a", "core.noop"),
                            edges=[("start", "a")]))
    response = admin_client.put("/api/engine/pause/", {"paused": True, "reason": "maintenance"},
                                format="json")
    assert response.status_code == 200
    assert response.data["paused"] is True
    refused = editor_client.post(f"/api/workflows/{workflow.pk}/runs/", {}, format="json")
    assert refused.status_code == 423
    assert refused.data["code"] == "paused"
    admin_client.put("/api/engine/pause/", {"paused": False}, format="json")
    admin_client.put("/api/engine/pause/", {"paused": True, "workflow": str(workflow.pk)},
                     format="json")
    assert editor_client.post(f"/api/workflows/{workflow.pk}/runs/", {},
                              format="json").status_code == 423
    assert admin_client.get("/api/engine/pause/").data["workflows"][0]["workflow"] == str(
        workflow.pk)


def test_concurrency_limit_queues_extra_runs_in_order(editor_client, publish, receiver):
    from apps.runs import services

    workflow = publish(flow(("start", "trigger.manual"),
                            ("call", "test.call", {"url": receiver.url}),
                            edges=[("start", "call")]))
    editor_client.patch(f"/api/workflows/{workflow.pk}/runtime/", {"max_concurrency": 1},
                        format="json")
    first = services.run_start(workflow=workflow)
    second = services.run_start(workflow=workflow)
    assert Run.objects.get(pk=second.pk).status == "queued"
    services.node_run_execute(node_run_id=NodeRun.objects.get(run=first, node_id="call").pk)
    services.runs_start_queued(workflow_id=workflow.pk)
    assert Run.objects.get(pk=second.pk).status == "running"


def test_metrics_are_exposed(client, publish):
    from apps.runs import services

    workflow = publish(flow(("start", "trigger.manual"), ("a", "core.noop"),
                            edges=[("start", "a")]))
    services.run_start(workflow=workflow)
    text = client.get("/metrics").content.decode()
    assert f'weft_runs_started_total{{mode="production",trigger="manual",workflow="{workflow.pk}"}}' in text
    assert "weft_node_duration_seconds_bucket" in text
    assert 'weft_queue_depth{queue="io"}' in text


def test_unpublished_changes_do_not_affect_runs(editor_client, publish):
    workflow = publish(flow(("start", "trigger.manual"), ("a", "core.noop"),
                            edges=[("start", "a")]))
    workflow_publish(workflow=workflow, user=workflow.owner)
    run = editor_client.post(f"/api/workflows/{workflow.pk}/runs/", {}, format="json").data
    assert run["version"] == 2


def test_starts_cancels_retries_and_the_kill_switch_are_audited(editor_client, admin_client,
                                                                publish):
    from apps.audit.models import AuditEvent

    workflow = publish(flow(("start", "trigger.manual"), ("boom", "test.fail"),
                            edges=[("start", "boom")]))
    run = editor_client.post(f"/api/workflows/{workflow.pk}/runs/", {}, format="json").data
    editor_client.post(f"/api/runs/{run['id']}/retry/")
    admin_client.put("/api/engine/pause/", {"paused": True, "reason": "drill"}, format="json")
    admin_client.put("/api/engine/pause/", {"paused": False}, format="json")
    actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    for action in ("run.start", "run.retry", "engine.pause", "engine.resume"):
        assert action in actions


@pytest.mark.parametrize(("config", "status", "body"), [
    ({}, 500, {"error": "run_failed"}),
    ({"failure_status": 422, "failure_body": {"error": "rejected", "retry": False}}, 422,
     {"error": "rejected", "retry": False}),
])
def test_a_failed_respond_webhook_answers_the_configured_error_without_internals(
        client, editor_client, publish, config, status, body):
    graph = flow(("hook", "trigger.webhook", {"mode": "respond", **config}),
                 ("discount", "data.set", {"fields": [{"name": "total",
                                                       "value": "input.amount * 0.9"}]}),
                 ("respond", "flow.respond", {"status": 200}),
                 edges=[("hook", "discount"), ("discount", "respond")])
    workflow = publish(graph)
    response, _ = _hook(client, editor_client, workflow, json.dumps({"amount": 100}))
    run = Run.objects.get(pk=response["X-Weft-Run-Id"])
    assert response.status_code == status
    assert response.json() == {**body, "run_id": str(run.pk)}
    # The details stay in the run, for the builder.
    assert run.status == "failed"
    assert run.error["node_id"] == "discount"
    assert "input.amount * 0.9" not in response.content.decode()
    assert "discount" not in response.content.decode()
