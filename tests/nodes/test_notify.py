"""Notification and audit node types through real runs: an e-mail in Django's outbox,
a chat message to a local webhook receiver, a business event in the audit log; a chat
webhook that is down is retried by the engine's policy, then takes the error port."""

from __future__ import annotations

import json

from django.core import mail

from apps.audit.models import AuditEvent
from apps.runs import services
from apps.runs.models import Run
from tests.fixtures.runs import flow, node_execute, node_row, retry_due_now


def _run(publish, node, config, input=None, *, error_handler=False):
    nodes = [("start", "trigger.manual"), ("step", node, config)]
    edges = [("start", "step")]
    if error_handler:
        nodes.append(("handled", "core.noop"))
        edges.append(("step", "error", "handled", "in"))
    return services.run_start(workflow=publish(flow(*nodes, edges=edges)), input=input or {})


def test_email_is_sent_with_rendered_fields(publish):
    run = _run(publish, "notify.email", {
        "to": ["{{ input.email }}"], "subject": "Request {{ input.id }} done",
        "body": "Hello {{ input.name }}"},
        {"email": "req@example.com", "id": 7, "name": "Ana"})
    assert node_execute(run, "step") == "succeeded"
    (message,) = mail.outbox
    assert (message.to, message.subject, message.body) == (
        ["req@example.com"], "Request 7 done", "Hello Ana")


def test_a_bad_address_fails_clearly_without_sending(publish):
    run = _run(publish, "notify.email", {"to": ["{{ input.email }}"], "subject": "x"},
               {"email": "not an address"})
    assert node_execute(run, "step") == "failed"
    assert node_row(run, "step").error["type"] == "invalid_address"
    assert mail.outbox == []


def test_chat_webhook_posts_then_retries_and_takes_the_error_port(publish, scripted):
    server = scripted()
    run = _run(publish, "notify.webhook", {"url": server.url, "text": "Hi {{ input.who }}"},
               {"who": "team"})
    assert node_execute(run, "step") == "succeeded"
    assert server.requests == 1
    assert json.loads(server.bodies[0]) == {"text": "Hi team"}
    down = scripted((503, {}, {}), (503, {}, {}))
    run = _run(publish, "notify.webhook",
               {"url": down.url, "text": "x", "policy": {"retries": 1, "backoff_s": 1,
                                                         "on_error": "error_port"}},
               error_handler=True)
    assert node_execute(run, "step") == "failed"
    retry_due_now(run, "step")
    assert node_execute(run, "step") == "succeeded"
    assert node_row(run, "handled").outputs["out"]["details"]["status"] == 503
    assert down.requests == 2


def test_audit_record_writes_a_business_event(publish):
    run = _run(publish, "audit.record", {"action": "deletion.completed",
                                         "subject": "request {{ input.id }}",
                                         "data": {"fields": "{{ input.fields }}"}},
               {"id": "R-9", "fields": 3})
    assert node_execute(run, "step") == "succeeded"
    event = AuditEvent.objects.get(action="business.deletion.completed")
    assert event.data["fields"] == 3
    assert event.run_id == str(run.pk)
    assert Run.objects.get(pk=run.pk).status == "succeeded"
