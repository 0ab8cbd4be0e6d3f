"""Triggers that start runs on their own: webhooks, schedules, failures of other runs.
Each ends in `run_start` (apps.runs.services.starts)."""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from apps.audit.services import audit_record
from apps.core import inbound
from apps.core.cache import TtlCache
from apps.core.errors import Unprocessable
from apps.runs import replay
from apps.runs.models import ReceiptKind, Run, RunMode, RunStatus, WorkflowRuntime
from apps.runs.respond import RespondWait, respond_answer, respond_now, respond_wait
from apps.runs.services.dispatch import in_process
from apps.runs.services.plans import compile_version
from apps.runs.services.runtime import (
    engine_paused_reason,
    latest_version,
    runtime_settings_forget,
)
from apps.runs.services.starts import run_start
from apps.runs.services.transitions import RUN_FINISHED
from apps.workflows.models import Workflow, WorkflowVersion
from apps.workflows.services import workflow_update

logger = logging.getLogger("weft.runs.triggers")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


def workflow_runtime_get(*, workflow: Workflow) -> WorkflowRuntime:
    """The workflow's engine settings, created with a fresh webhook secret on first use."""
    runtime = WorkflowRuntime.objects.filter(workflow=workflow).first()
    if runtime is None:
        runtime, _ = WorkflowRuntime.objects.get_or_create(
            workflow=workflow, defaults={"webhook_secret": secrets.token_urlsafe(32),
                                         "signing_key": secrets.token_hex(32)})
    return runtime


def workflow_runtime_update(*, workflow: Workflow, user=None, max_concurrency: int | None = ...,
                            run_timeout_s: int | None = ..., rotate_secrets: bool = False,
                            retention_days: int | None = ...,
                            failed_retention_days: int | None = ...,
                            webhook_legacy_signature: bool | None = None,
                            rotate_signing_key: bool = False) -> WorkflowRuntime:
    runtime = workflow_runtime_get(workflow=workflow)
    if webhook_legacy_signature is not None \
            and webhook_legacy_signature != workflow.webhook_legacy_signature:
        workflow_update(workflow=workflow, user=user,
                        webhook_legacy_signature=webhook_legacy_signature)
        runtime.workflow = workflow
    if max_concurrency is not ...:
        runtime.max_concurrency = max_concurrency
    if run_timeout_s is not ...:
        runtime.run_timeout_s = run_timeout_s
    if retention_days is not ...:
        runtime.retention_days = retention_days
    if failed_retention_days is not ...:
        runtime.failed_retention_days = failed_retention_days
    if rotate_secrets:
        runtime.webhook_secret = secrets.token_urlsafe(32)
    if rotate_secrets or rotate_signing_key:
        runtime.signing_key = secrets.token_hex(32)
        audit_record(action="workflow.signing_key_rotate", actor=user, target=workflow)
    runtime.save()
    _hook_cache.clear()
    runtime_settings_forget()
    return runtime


def run_start_keyed(*, workflow: Workflow, input: dict[str, Any], key: str | None, user=None,
                    token=None, trace_id: str | None = None) -> tuple[uuid.UUID, Run | None]:
    """A manual start (the run-start API) with an optional Idempotency-Key: a repeat of
    the key for this workflow within WEFT_IDEMPOTENCY_TTL_S gives the first run's id and
    None instead of starting another (422 when the input differs)."""
    return replay.run_start_once(
        workflow_id=workflow.pk,
        claims=[replay.idempotency_claim(kind=ReceiptKind.API_KEY, value=key)],
        body_sha256=replay.input_digest(input) if key is not None else "",
        start=lambda new_id, guard: run_start(
            workflow=workflow, input=input, trigger="manual", user=user, token=token,
            trace_id=trace_id, run_id=new_id, guard=guard))


# --- Webhooks -----------------------------------------------------------------------------

_hook_cache = TtlCache(2.0)


def trace_id_from(traceparent: str) -> str | None:
    match = _TRACEPARENT.match(traceparent.strip().lower()) if traceparent else None
    return match.group(1) if match and match.group(1) != "0" * 32 else None


def _webhook_target(secret: str) -> dict[str, Any] | None:
    def load():
        runtime = (WorkflowRuntime.objects.select_related("workflow")
                   .filter(webhook_secret=secret, workflow__deleted_at__isnull=True).first())
        if runtime is None:
            return None
        return {"workflow": runtime.workflow, "signing_key": runtime.signing_key,
                "legacy_signature": runtime.workflow.webhook_legacy_signature}

    return _hook_cache.get(secret, load)


def webhook_receive(*, secret: str, body: bytes, headers: dict[str, str]
                    ) -> tuple[uuid.UUID, Run | None, dict[str, Any]]:
    """Start a run from a webhook call, unless the same request started one before
    (a repeated signature within the tolerance window, or a repeated Idempotency-Key).
    Returns the run's id, the new run (None for a repeat) and the trigger's config;
    raises Unprocessable (with its HTTP status) for anything refused, starting nothing."""
    target = _webhook_target(secret)
    if target is None:
        raise Unprocessable("No webhook has this address.", code="not_found", status_code=404)
    workflow = target["workflow"]
    version = latest_version(workflow=workflow)
    if version is None or not workflow.is_active:
        raise Unprocessable("This workflow has no published, active version.",
                            code="not_published", status_code=404)
    compiled = compile_version(version)
    trigger_id = compiled.graph.trigger
    if trigger_id is None or compiled.types[trigger_id].type != "trigger.webhook":
        raise Unprocessable("The published version does not start with a webhook trigger.",
                            code="not_a_webhook", status_code=404)
    config = compiled.configs[trigger_id]
    claims = []
    key_claim = replay.idempotency_claim(
        kind=ReceiptKind.WEBHOOK_KEY, value=headers.get(replay.IDEMPOTENCY_HEADER.lower()))
    body_sha256 = replay.body_digest(body) if key_claim or config.signature_header else ""
    if key_claim:
        claims.append(key_claim)
    if config.signature_header:
        signature = replay.signature_verify(
            header=config.signature_header, value=headers.get(config.signature_header.lower()),
            body=body, signing_key=target["signing_key"],
            legacy_allowed=target["legacy_signature"])
        claims.append(replay.signature_claim(signature=signature, body_sha256=body_sha256))
    try:  # the checks of every way in: nesting, NUL characters, lone surrogates
        payload = inbound.loads(body) if body else {}
    except inbound.JsonProblem as problem:
        raise Unprocessable(f"The body cannot be used: {problem.path} {problem.message}.",
                            code=problem.code, errors={problem.path: [problem.message]}
                            ) from None
    # A respond-mode caller waits here for the answer: this process makes the run's
    # network calls itself (WEFT_RESPOND_IN_PROCESS), one hop fewer than a worker.
    with in_process(config.mode == "respond") as here:
        run_id, run = replay.run_start_once(
            workflow_id=workflow.pk, claims=claims, body_sha256=body_sha256,
            start=lambda new_id, guard: run_start(
                workflow=workflow, version=version,
                input=payload if isinstance(payload, dict) else {"body": payload},
                trigger="webhook", trigger_ref=secret[:8],
                trace_id=trace_id_from(headers.get("traceparent", "")), run_id=new_id,
                guard=guard))
    return run_id, run, {"mode": config.mode, "timeout": config.respond_timeout_s,
                         "failure": (config.failure_status, config.failure_body),
                         "local": here}


def webhook_handle(*, secret: str, body: bytes, headers: dict[str, str], wait: bool = True
                   ) -> tuple[int, Any, dict[str, str]] | RespondWait:
    """One webhook call, whichever server front handles it (the Django view, or the
    ASGI fast path for /hooks/): status, JSON body and extra headers. `headers` are
    lower-cased; the body was already bounded by WEFT_WEBHOOK_MAX_BYTES. A repeated
    request answers as its first run does now (`Idempotent-Replayed: true`). With
    `wait` off, a respond-mode run that has not answered yet is returned as a
    RespondWait for the caller to wait on (apps.runs.respond)."""
    return webhook_answer(lambda: webhook_receive(secret=secret, body=body, headers=headers),
                          wait=wait)


def webhook_answer(receive, *, wait: bool = True
                   ) -> tuple[int, Any, dict[str, str]] | RespondWait:
    """The answer to a webhook request once `receive()` started (or found) its run: the
    production URL's and the test URL's (apps.runs.test_webhooks)."""
    try:
        run_id, run, trigger = receive()
    except Unprocessable as exc:
        return exc.status_code, {"code": exc.get_codes(), "detail": str(exc.detail),
                                 **exc.extra}, {}
    extra: dict[str, str] = {}
    if run is None:
        run = Run.objects.only("id", "status", "trace_id", "response").filter(
            pk=run_id).first()
        if run is None:
            return 409, {"code": "run_gone", "run_id": str(run_id),
                         "detail": "This request started a run that no longer exists."}, {}
        extra["Idempotent-Replayed"] = "true"
    extra.update({"X-Weft-Run-Id": str(run.pk),
                  "traceparent": f"00-{run.trace_id}-{run.pk.hex[:16]}-01"})
    if trigger["mode"] != "respond":
        return 202, {"run_id": str(run.pk), "status": run.status}, extra
    pending = RespondWait(run_id=run.pk, timeout=trigger["timeout"],
                          failure=trigger["failure"], headers=extra,
                          local=trigger.get("local"))
    if run.response is not None or run.status in RUN_FINISHED:
        answer = respond_now(pending, response=run.response)
        if answer is not None:
            return respond_answer(pending, answer)
    # Still going: the wait reads its row once subscribed to its events (a worker may
    # have answered since), so it is not read here too.
    return respond_wait(pending) if wait else pending


# --- Schedules ----------------------------------------------------------------------------

def latest_versions_with(type_name: str):
    latest = WorkflowVersion.objects.filter(workflow=OuterRef("workflow")).order_by(
        "-number").values("pk")[:1]
    return (WorkflowVersion.objects.filter(workflow__deleted_at__isnull=True,
                                           workflow__is_active=True,
                                           graph__contains={"nodes": [{"type": type_name}]})
            .filter(pk=Subquery(latest)).select_related("workflow"))


def schedules_sync(*, now: datetime) -> None:
    """Point each scheduled workflow's next due time at its latest version's cron."""
    scheduled = {}
    for version in latest_versions_with("trigger.schedule"):
        compiled = compile_version(version)
        trigger = compiled.graph.trigger
        if trigger and compiled.types[trigger].type == "trigger.schedule":
            scheduled[version.workflow_id] = (version, compiled.configs[trigger])
    for _workflow_id, (version, config) in scheduled.items():
        runtime = workflow_runtime_get(workflow=version.workflow)
        if runtime.schedule_version != version.number or runtime.schedule_next_at is None:
            WorkflowRuntime.objects.filter(pk=runtime.pk).update(
                schedule_version=version.number, schedule_next_at=config.next_after(now))
    WorkflowRuntime.objects.filter(schedule_next_at__isnull=False).exclude(
        workflow_id__in=list(scheduled)).update(schedule_next_at=None, schedule_version=None)


def schedules_sweep(*, now: datetime | None = None) -> int:
    """Start the runs of schedules that came due. Each due time is claimed with
    compare-and-set, so overlapping sweeps never start it twice."""
    now = now or timezone.now()
    if cache.add("weft:schedules-synced", 1, timeout=10):
        schedules_sync(now=now)
    started = 0
    for runtime in WorkflowRuntime.objects.filter(schedule_next_at__lte=now).select_related(
            "workflow"):
        version = runtime.workflow.versions.order_by("-number").first()
        if version is None:
            continue
        compiled = compile_version(version)
        trigger = compiled.graph.trigger
        if not trigger or compiled.types[trigger].type != "trigger.schedule":
            continue
        config = compiled.configs[trigger]
        due = runtime.schedule_next_at
        claimed = WorkflowRuntime.objects.filter(pk=runtime.pk, schedule_next_at=due).update(
            schedule_next_at=config.next_after(now))
        if not claimed or engine_paused_reason(workflow_id=runtime.workflow_id):
            continue
        try:
            run_start(workflow=runtime.workflow, version=version,
                               input={**config.input, "scheduled_for": due.isoformat()},
                               trigger="schedule", trigger_ref=due.isoformat())
            started += 1
        except Unprocessable:
            logger.warning("scheduled run refused", exc_info=True)
    return started


# --- Error triggers -----------------------------------------------------------------------

def error_triggers_fire(*, run_id) -> int:
    """Start the error-trigger workflows that watch the failed run's workflow."""
    failed = Run.objects.select_related("workflow").filter(pk=run_id).first()
    if failed is None or failed.status != RunStatus.FAILED or failed.trigger == "error" \
            or failed.mode == RunMode.TEST:  # a test run of a draft never fires them
        return 0
    started = 0
    for version in latest_versions_with("trigger.error"):
        if version.workflow_id == failed.workflow_id:
            continue
        compiled = compile_version(version)
        trigger = compiled.graph.trigger
        if not trigger or compiled.types[trigger].type != "trigger.error":
            continue
        watched = compiled.configs[trigger].workflows
        if watched and failed.workflow_id not in watched:
            continue
        summary = {"run_id": str(failed.pk), "workflow_id": str(failed.workflow_id),
                   "workflow_name": failed.workflow.name, "error": failed.error,
                   "trigger": failed.trigger,
                   "finished_at": failed.finished_at.isoformat() if failed.finished_at
                   else None}
        try:
            with transaction.atomic():
                run_start(workflow=version.workflow, version=version, input=summary,
                                   trigger="error", trigger_ref=str(failed.pk),
                                   trace_id=failed.trace_id)
            started += 1
        except Unprocessable:
            logger.warning("error trigger refused", exc_info=True)
    return started


