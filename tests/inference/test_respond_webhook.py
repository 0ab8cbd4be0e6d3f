"""The order-check shape end to end: webhook (respond) -> model -> if -> respond, its
model call made by the web front that waits for the answer (no worker runs here),
against the real Triton server over HTTP and gRPC."""

import os

import pytest

from apps.runs.models import NodeRun
from tests.fixtures.runs import WebhookFront, flow

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_respond_webhook_answers_with_its_models_verdict(registered_server, publish):
    workflow = publish(flow(
        ("hook", "trigger.webhook", {"mode": "respond", "respond_timeout_s": 20}),
        ("classify", "inference.triton", {"server": registered_server.name,
                                          "model": "ticket_urgency",
                                          "inputs": {"text": "input.text"}}),
        ("sure", "control.if", {"condition": "nodes.classify.output.confidence >= 0.5"}),
        ("answer", "flow.respond", {"status": 200, "body":
                                    "{'label': nodes.classify.output.outputs.label}"}),
        ("unsure", "flow.respond", {"status": 202, "body": "{'label': 'review'}"}),
        edges=[("hook", "classify"), ("classify", "sure"), ("sure", "true", "answer", "in"),
               ("sure", "false", "unsure", "in")]))
    front = WebhookFront("asgi")
    status, body, _headers = front.post(workflow, b'{"text": "Site down, revenue impact, '
                                                  b'need help now"}')
    assert (status, body) == (200, {"label": "critical"})
    status, body, _headers = front.post(workflow, b'{"text": "Feature request: dark mode, '
                                                  b'no rush"}')
    assert status == 200
    assert body["label"] != "critical"
    holders = set(NodeRun.objects.filter(node_id="classify").values_list("worker", flat=True))
    assert len(holders) == 1
    assert holders.pop().endswith(f"#{os.getpid()}")
