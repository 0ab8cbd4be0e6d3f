"""The webhook's test URL: armed by "Listen" for 2 minutes and one request, it starts a test
run of the draft (not the published version) as the user who listened, under the same
signature rules as the production URL."""

import json

import pytest
from django.utils import timezone

from apps.runs.models import Run, WorkflowRuntime
from apps.workflows.services import workflow_publish, workflow_update
from tests.fixtures.runs import flow, webhook_signature

pytestmark = pytest.mark.django_db


def _graph(value, **trigger):
    return flow(("hook", "trigger.webhook", trigger), ("set", "test.set", {"values": {"v": value}}),
                edges=[("hook", "set")])


def _post(client, url, body, **headers):
    path = url.split("testserver", 1)[1]
    return client.post(path, body, content_type="application/json", headers=headers)


def _published_with_draft(editor_client, create_workflow, **trigger):
    workflow = create_workflow(user=editor_client.user, graph=_graph("published", **trigger))
    workflow_publish(workflow=workflow, user=workflow.owner)
    workflow_update(workflow=workflow, user=workflow.owner, graph=_graph("draft", **trigger),
                    revision=workflow.revision)
    return workflow


def test_listen_then_one_request_starts_a_test_run_of_the_draft(client, editor_client,
                                                                 create_workflow):
    workflow = _published_with_draft(editor_client, create_workflow)
    runtime = editor_client.get(f"/api/workflows/{workflow.pk}/runtime/").data
    assert runtime["listening_until"] is None
    refused = _post(client, runtime["test_webhook_url"], "{}")
    assert refused.status_code == 404
    assert refused.json()["code"] == "not_listening"

    listening = editor_client.post(f"/api/workflows/{workflow.pk}/runtime/listen/")
    assert listening.status_code == 200
    assert listening.data["listening_until"] is not None
    answer = _post(client, runtime["test_webhook_url"], json.dumps({"n": 1}))
    assert answer.status_code == 202, answer.json()
    run = Run.objects.get(pk=answer.json()["run_id"])
    assert (run.mode, run.trigger, run.status) == ("test", "webhook", "succeeded")
    assert run.started_by == editor_client.user
    assert run.node_runs.get(node_id="set").outputs == {"out": {"n": 1, "v": "draft"}}
    polled = editor_client.get(f"/api/workflows/{workflow.pk}/runtime/").data
    assert polled["test_run_id"] == str(run.pk)
    assert polled["listening_until"] is None
    # One request per Listen; the production URL still runs the published version.
    assert _post(client, runtime["test_webhook_url"], "{}").status_code == 404
    production = _post(client, runtime["webhook_url"], json.dumps({"n": 2}))
    published_run = Run.objects.get(pk=production.json()["run_id"])
    assert published_run.mode == "production"
    assert published_run.node_runs.get(node_id="set").outputs["out"]["v"] == "published"


def test_the_test_url_keeps_the_production_signature_rules(client, editor_client,
                                                           create_workflow):
    workflow = _published_with_draft(editor_client, create_workflow,
                                     signature_header="X-Signature")
    runtime = editor_client.get(f"/api/workflows/{workflow.pk}/runtime/").data
    editor_client.post(f"/api/workflows/{workflow.pk}/runtime/listen/")
    unsigned = _post(client, runtime["test_webhook_url"], "{}")
    assert unsigned.status_code == 401
    assert "X-Signature" in unsigned.json()["detail"]
    assert not Run.objects.exists()
    body = b'{"n": 3}'
    signed = _post(client, runtime["test_webhook_url"], body,
                   **{"X-Signature": webhook_signature(runtime["signing_key"], body)})
    assert signed.status_code == 202, signed.json()
    assert Run.objects.get().mode == "test"


def test_listening_ends_after_two_minutes(client, editor_client, create_workflow):
    workflow = _published_with_draft(editor_client, create_workflow)
    runtime = editor_client.post(f"/api/workflows/{workflow.pk}/runtime/listen/").data
    WorkflowRuntime.objects.filter(workflow=workflow).update(
        test_listen_until=timezone.now() - timezone.timedelta(seconds=1))
    assert _post(client, runtime["test_webhook_url"], "{}").status_code == 404
    again = editor_client.post(f"/api/workflows/{workflow.pk}/runtime/listen/").data
    stopped = editor_client.delete(f"/api/workflows/{workflow.pk}/runtime/listen/")
    assert stopped.data["listening_until"] is None
    assert _post(client, again["test_webhook_url"], "{}").status_code == 404
    assert not Run.objects.exists()


def test_rotating_the_signing_key_keeps_the_address(editor_client, create_workflow):
    workflow = create_workflow(user=editor_client.user, graph=_graph("x"))
    before = editor_client.get(f"/api/workflows/{workflow.pk}/runtime/").data
    after = editor_client.patch(f"/api/workflows/{workflow.pk}/runtime/",
                                {"rotate_signing_key": True}, format="json").data
    assert after["webhook_url"] == before["webhook_url"]
    assert after["signing_key"] != before["signing_key"]
