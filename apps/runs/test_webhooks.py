"""The webhook's test URL (`/hooks-test/<secret>/`): while the editor listens ("Listen",
armed for 2 minutes, for one request), a request there starts a test run of the draft,
as the user who armed it, instead of a run of the published version. The same
signature rules as production apply (the draft's trigger says which header; the
workflow's signing key; a repeated signature answers with its first run); the answer
has the production shape (202 with the run id, or the respond node's answer).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models.functions import Now

from apps.core import inbound
from apps.core.errors import Unprocessable
from apps.nodes.registry import registry
from apps.runs import replay, test_runs, triggers
from apps.runs.models import ReceiptKind, WorkflowRuntime
from apps.workflows.models import Workflow

LISTEN_S = 120


def webhook_listen(*, workflow: Workflow, user) -> WorkflowRuntime:
    """Arm the test URL for LISTEN_S seconds (PostgreSQL's clock) and one request."""
    runtime = triggers.workflow_runtime_get(workflow=workflow)
    WorkflowRuntime.objects.filter(pk=runtime.pk).update(
        test_listen_until=Now() + timedelta(seconds=LISTEN_S), test_listen_by=user,
        test_run_id=None)
    runtime.refresh_from_db()
    return runtime


def webhook_listen_stop(*, workflow: Workflow) -> WorkflowRuntime:
    runtime = triggers.workflow_runtime_get(workflow=workflow)
    WorkflowRuntime.objects.filter(pk=runtime.pk).update(test_listen_until=None)
    runtime.refresh_from_db()
    return runtime


def _draft_trigger(workflow: Workflow):
    for node in registry.upgrade_graph(workflow.graph).get("nodes", []):
        if node.get("type") == "trigger.webhook" and not node.get("disabled"):
            node_type = registry.get(node["type"], node.get("version", 1))
            try:
                return node_type.Config.model_validate(node.get("config") or {})
            except ValueError:
                raise Unprocessable("The draft's webhook trigger has invalid settings; fix "
                                    "them in the editor.", code="invalid_graph",
                                    status_code=409) from None
    raise Unprocessable("The draft does not start with a webhook trigger.",
                        code="not_a_webhook", status_code=404)


def _receive(*, secret: str, body: bytes, headers: dict[str, str]):
    runtime = (WorkflowRuntime.objects.select_related("workflow")
               .filter(webhook_secret=secret, workflow__deleted_at__isnull=True).first())
    if runtime is None:
        raise Unprocessable("No webhook has this address.", code="not_found", status_code=404)
    workflow = runtime.workflow
    config = _draft_trigger(workflow)
    claims = []
    body_sha256 = replay.body_digest(body)
    key_claim = replay.idempotency_claim(
        kind=ReceiptKind.WEBHOOK_KEY, value=headers.get(replay.IDEMPOTENCY_HEADER.lower()))
    if key_claim:
        claims.append(key_claim)
    if config.signature_header:
        signature = replay.signature_verify(
            header=config.signature_header, value=headers.get(config.signature_header.lower()),
            body=body, signing_key=runtime.signing_key,
            legacy_allowed=workflow.webhook_legacy_signature)
        claims.append(replay.signature_claim(signature=signature, body_sha256=body_sha256))
    try:
        payload = inbound.loads(body) if body else {}
    except inbound.JsonProblem as problem:
        raise Unprocessable(f"The body cannot be used: {problem.path} {problem.message}.",
                            code=problem.code, errors={problem.path: [problem.message]}
                            ) from None
    with transaction.atomic():
        # One request per "Listen": the first checked request takes it (compare-and-set).
        armed = (WorkflowRuntime.objects.select_for_update()
                 .filter(pk=runtime.pk, test_listen_until__gt=Now()).first())
        if armed is None:
            raise Unprocessable("The test URL is not listening: click Listen in the editor, "
                                f"then send the request within {LISTEN_S // 60} minutes.",
                                code="not_listening", status_code=404)
        run_id, run = replay.run_start_once(
            workflow_id=workflow.pk, claims=claims, body_sha256=body_sha256,
            start=lambda new_id, guard: test_runs.draft_run_start(
                workflow=workflow, user=armed.test_listen_by,
                input=payload if isinstance(payload, dict) else {"body": payload},
                trigger="webhook", trace_id=triggers.trace_id_from(
                    headers.get("traceparent", "")), run_id=new_id, guard=guard))
        WorkflowRuntime.objects.filter(pk=runtime.pk).update(test_listen_until=None,
                                                             test_run_id=run_id)
    return run_id, run, {"mode": config.mode, "timeout": config.respond_timeout_s,
                         "failure": (config.failure_status, config.failure_body)}


def webhook_test_handle(*, secret: str, body: bytes, headers: dict[str, str]
                        ) -> tuple[int, Any, dict[str, str]]:
    """One request to the test URL: as `triggers.webhook_handle`, on the draft."""
    return triggers.webhook_answer(lambda: _receive(secret=secret, body=body, headers=headers))
