"""Starting runs: a run of the latest published version (or a given one), its pure
nodes run at once in this process; a workflow's concurrency limit queues the rest,
started in order when a slot frees."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction

from apps.audit.services import audit_record
from apps.core.errors import Unprocessable
from apps.privacy.selectors import masker_for, policy_get
from apps.runs import events, metrics, refs, replay, rows
from apps.runs.models import NodeRun, Run, RunMode, RunStatus, WorkflowRuntime
from apps.runs.search import payload_terms
from apps.runs.services.advance import begin, needs_transaction, write_step
from apps.runs.services.plans import compile_version
from apps.runs.services.runtime import engine_paused_reason, latest_version, runtime_settings
from apps.runs.services.step import Step, db_clock, log_context_bind, step_load
from apps.runs.services.transitions import RUN_ACTIVE, run_born
from apps.variables.selectors import variables_snapshot
from apps.workflows.models import Workflow, WorkflowVersion


def run_start(*, workflow: Workflow, input: dict[str, Any] | None = None,
              trigger: str = "manual", user=None, token=None, trigger_ref: str = "",
              trace_id: str | None = None, version: WorkflowVersion | None = None,
              parent_node_run: NodeRun | None = None, check_paused: bool = True,
              stored_input: bool = False, run_id: uuid.UUID | None = None,
              guard: tuple[str, list[Any]] | None = None,
              mode: str = RunMode.PRODUCTION) -> Run:
    """Start a run of the latest published version (or `version`). Pure nodes run
    at once, in this process; the rest go to workers. Refused while paused. `input`
    comes from outside and is checked and escaped (apps.runs.refs), unless
    `stored_input`: the engine's own stored data (a child run's, a map item's).
    `run_id` and `guard`: the id chosen beforehand and the claim of a request receipt
    written in the run's own statement (apps.runs.replay); raises replay.ClaimTaken,
    writing nothing, when the claim was made before. `mode` test: a test snapshot of
    the draft (apps.runs.test_runs), outside the concurrency limit."""
    if not stored_input:
        try:
            input = refs.admit(input or {}, root="input")
        except refs.JsonProblem as problem:
            raise Unprocessable(f"The run's input cannot be stored: {problem.path} "
                                f"{problem.message}.", code=problem.code,
                                errors={problem.path: [problem.message]}) from None
    if version is None:
        version = latest_version(workflow=workflow)
        if version is None:
            raise Unprocessable("This workflow has no published version; publish it first.",
                                code="not_published")
    if check_paused:
        reason = engine_paused_reason(workflow_id=workflow.pk)
        if reason:
            raise Unprocessable(reason, code="paused", status_code=423)
    compiled = compile_version(version)
    now = db_clock()
    run = run_born(id=run_id or uuid.uuid4(), workflow_id=workflow.pk, version_id=version.pk,
                   trigger=trigger, mode=mode, input=input or {}, created_at=now,
                   started_by=user if user is not None and user.is_authenticated else None,
                   started_by_token=token, trigger_ref=trigger_ref,
                   trace_id=trace_id or uuid.uuid4().hex,
                   parent_run_id=parent_node_run.run_id if parent_node_run else None,
                   parent_node_run=parent_node_run, vars=variables_snapshot(),
                   search_terms=payload_terms(input, masker=masker_for(
                       policy=policy_get(workflow_id=workflow.pk), run_input=input)))
    log_context_bind(run)
    metrics.RUNS_STARTED.labels(str(workflow.pk), trigger, mode).inc()
    limit = None
    if parent_node_run is None:
        runtime = runtime_settings(workflow.pk)
        limit = runtime and mode == RunMode.PRODUCTION and runtime["max_concurrency"]
        timeout = (runtime and runtime["run_timeout_s"]) or settings.WEFT_RUN_TIMEOUT_S
    else:
        timeout = settings.WEFT_RUN_TIMEOUT_S
    run.deadline_at = now + timedelta(seconds=timeout)
    # People's starts are audited; webhook, schedule and child runs are only in the
    # runs table (their volume would serialise on the audit chain).
    audited = run.started_by_id is not None or token is not None
    if not limit and not audited:
        step = Step(run=run, compiled=compiled, rows={}, now=now, is_new_run=True,
                     guard=guard)
        begin(step)  # in memory: pure nodes run, nothing is written yet
        if not needs_transaction(step):
            # The hot path (webhooks, schedules): the run and its rows are one INSERT,
            # which is its own transaction unless the caller holds one.
            write_step(step)
            return run
        with transaction.atomic():
            write_step(step)
        return run
    with transaction.atomic():
        if limit and not has_capacity(workflow.pk, limit):
            if guard is not None and not rows.guard_holds(guard):
                raise replay.ClaimTaken()
            run.save(force_insert=True)  # queued: started in order when a slot frees
            transaction.on_commit(lambda: events.publish_run(
                str(run.pk), [{"event": "run", "run_id": str(run.pk), "status": run.status}]))
            return run
        step = Step(run=run, compiled=compiled, rows={}, now=now, is_new_run=True,
                     guard=guard)
        begin(step)
        write_step(step)
        if audited:
            audit_record(action="run.start", actor=token or user, target=run,
                         run_id=str(run.pk), data={"workflow": str(workflow.pk),
                                                   "version": version.number,
                                                   "trigger": trigger, "mode": mode})
    return run


def has_capacity(workflow_id, limit: int) -> bool:
    # Serialise starts of this workflow so two of them cannot both take the last slot.
    WorkflowRuntime.objects.select_for_update().filter(workflow_id=workflow_id).first()
    active = Run.objects.filter(workflow_id=workflow_id, status__in=RUN_ACTIVE,
                                parent_run__isnull=True, mode=RunMode.PRODUCTION).count()
    queued_before = Run.objects.filter(workflow_id=workflow_id, status=RunStatus.QUEUED,
                                       parent_run__isnull=True,
                                       mode=RunMode.PRODUCTION).exists()
    return active < limit and not queued_before


def runs_start_queued(*, workflow_id) -> int:
    """Start queued runs of a workflow, oldest first, while its concurrency limit allows."""
    started = 0
    while True:
        with transaction.atomic():
            runtime = WorkflowRuntime.objects.select_for_update().filter(
                workflow_id=workflow_id).first()
            limit = runtime.max_concurrency if runtime else None
            active = Run.objects.filter(workflow_id=workflow_id, status__in=RUN_ACTIVE,
                                        parent_run__isnull=True,
                                        mode=RunMode.PRODUCTION).count()
            if limit and active >= limit:
                return started
            run = (Run.objects.select_for_update(skip_locked=True)
                   .filter(workflow_id=workflow_id, status=RunStatus.QUEUED)
                   .order_by("created_at").first())
            if run is None:
                return started
            log_context_bind(run)
            step = step_load(run)
            begin(step)
            write_step(step)
            started += 1
