"""A `respond` webhook whose run cannot finish in time answers 503 with Retry-After and
the run id; the same request sent again waits on that run (a real Celery worker runs
the node that takes long). Through both server fronts."""

import json
import time

import pytest

from apps.runs import triggers
from apps.runs.models import Run
from tests.fixtures.runs import flow, webhook_signature

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

HEADER = "Weft-Signature"


def test_a_respond_webhook_that_cannot_finish_in_time_answers_503_then_waits_on_its_run(
        celery_worker_process, webhook_front, publish, receiver):
    workflow = publish(flow(
        ("hook", "trigger.webhook", {"signature_header": HEADER, "mode": "respond",
                                     "respond_timeout_s": 0.5}),
        ("call", "test.call", {"url": receiver.url, "sleep_s": 2.0}),
        ("respond", "flow.respond", {"status": 200, "body": "{'done': 5}"}),
        edges=[("hook", "call"), ("call", "respond")]))
    body = json.dumps({"n": 5}).encode()
    key = triggers.workflow_runtime_get(workflow=workflow).signing_key
    headers = {HEADER: webhook_signature(key, body)}
    status, payload, answer = webhook_front.post(workflow, body, headers)
    assert status == 503, payload
    assert payload["code"] == "respond_timeout"
    run_id = payload["run_id"]
    assert int(answer["retry-after"]) >= 1
    assert answer["x-weft-run-id"] == run_id
    deadline = time.monotonic() + 60
    while status == 503 and time.monotonic() < deadline:
        status, payload, answer = webhook_front.post(workflow, body, headers)
        assert answer["x-weft-run-id"] == run_id
        assert answer["idempotent-replayed"] == "true"
    assert (status, payload) == (200, {"done": 5}), json.dumps(payload)
    assert Run.objects.filter(workflow=workflow).count() == 1
    assert sum(receiver.keys().values()) == 1
