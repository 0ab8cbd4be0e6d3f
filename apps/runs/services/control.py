"""Cancel and retry a run; the kill switch (pause and resume the engine, for one
workflow or all)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction

from apps.audit.services import audit_record
from apps.core.errors import Unprocessable
from apps.runs import events, rows
from apps.runs.models import EngineSwitch, NodeRun, NodeStatus, Run, RunStatus
from apps.runs.services import runtime
from apps.runs.services.advance import advance, decide_run_status, run_reached, write_step
from apps.runs.services.runtime import engine_paused_reason
from apps.runs.services.step import db_clock, log_context_bind, new_row, set_run_status, step_load
from apps.runs.services.transitions import (
    NODE_OPEN,
    RUN_ACTIVE,
    RUN_FINISHED,
    node_move,
    run_move,
)
from apps.workflows.models import Workflow


def run_cancel(*, run: Run, user=None) -> Run:
    """Stop a run: open nodes are cancelled, nothing new starts, late results are dropped.
    Child runs (sub-workflows, map items) in flight are cancelled too."""
    with transaction.atomic():
        locked = rows.run_lock(run.pk)
        if locked.status in RUN_FINISHED:
            raise Unprocessable(f"The run has already {locked.status}.", code="run_finished",
                                status_code=409)
        cancel_locked(locked)
        audit_record(action="run.cancel", actor=user, target=locked, run_id=str(run.pk),
                     data={"status_before": locked.status})
    return Run.objects.get(pk=run.pk)


def cancel_locked(run: Run) -> None:
    now = db_clock()
    open_rows = list(NodeRun.objects.filter(run=run, status__in=NODE_OPEN).only(
        "node_id", "attempt"))
    node_move(NodeRun.objects.filter(run=run, status__in=NODE_OPEN), NodeStatus.CANCELLED,
               finished_at=now)
    error = {"type": "cancelled", "message": "The run was cancelled."}
    if not run_move(run.pk, RunStatus.CANCELLED, finished_at=now, error=error):
        return
    evts = [{"event": "node", "run_id": str(run.pk), "node_id": r.node_id,
             "status": NodeStatus.CANCELLED, "attempt": r.attempt} for r in open_rows]
    evts.append({"event": "run", "run_id": str(run.pk), "status": RunStatus.CANCELLED,
                 "error": error})
    transaction.on_commit(lambda: events.publish_run(str(run.pk), evts))
    # Child runs are cancelled after this commit, each in its own transaction: locking
    # them under the parent's lock would invert the order of a child's step, which
    # locks the child and then its parent (to resume it). The sweep cancels any child
    # that outlives its parent here (a process lost before this ran).
    transaction.on_commit(lambda: cancel_children(run.pk))
    run_reached(run, RunStatus.CANCELLED)  # its tasks closed, its slot freed, counted


def cancel_children(run_id) -> int:
    """Cancel the child runs in flight of a run that ended (sub-workflows, map items)."""
    cancelled = 0
    for child_id in Run.objects.filter(parent_run_id=run_id, status__in=(
            RunStatus.QUEUED, *RUN_ACTIVE)).values_list("pk", flat=True):
        with transaction.atomic():
            child = rows.run_lock(child_id)
            if child is not None and child.status in (RunStatus.QUEUED, *RUN_ACTIVE):
                cancel_locked(child)
                cancelled += 1
    return cancelled


def run_retry(*, run: Run, user=None) -> Run:
    """Run a failed run again from its failed (and cancelled) nodes; outputs of the
    nodes that succeeded are kept."""
    reason = engine_paused_reason(workflow_id=run.workflow_id)
    if reason:
        raise Unprocessable(reason, code="paused", status_code=423)
    with transaction.atomic():
        locked = rows.run_lock(run.pk)
        if locked.status != RunStatus.FAILED:
            raise Unprocessable(f"Only a failed run can be retried; this one is "
                                f"{locked.status}.", code="not_failed", status_code=409)
        log_context_bind(locked)
        step = step_load(locked)
        for node_id, row in list(step.rows.items()):
            if row.status in (NodeStatus.FAILED, NodeStatus.CANCELLED):
                retry = new_row(step, node_id, status=NodeStatus.PENDING,
                                 attempt=row.attempt + 1, inputs=row.inputs)
                step.node_event(retry)
        set_run_status(step, RunStatus.RUNNING, error=None, finished_at=None,
                        deadline_at=step.now + timedelta(seconds=settings.WEFT_RUN_TIMEOUT_S))
        advance(step)
        decide_run_status(step)
        write_step(step)
        audit_record(action="run.retry", actor=user, target=locked, run_id=str(run.pk),
                     data={"nodes": sorted(r.node_id for r in step.new if r.attempt > 1)})
    return Run.objects.get(pk=run.pk)


def engine_pause(*, workflow: Workflow | None = None, user=None, reason: str = "",
                 actor: Any = None) -> EngineSwitch:
    """The kill switch: refuse new runs of one workflow (or all) and stop dispatching
    the nodes of runs in flight; `engine_resume` lets them go on. `actor`: who pauses
    when it is not a user (a model alert rule)."""
    switch, _ = EngineSwitch.objects.update_or_create(
        workflow=workflow, defaults={"paused": True, "reason": reason, "changed_by": user})
    runtime._switch_cache.clear()
    audit_record(action="engine.pause", actor=actor or user, target=workflow,
                 data={"scope": str(workflow.pk) if workflow else "all", "reason": reason})
    return switch


def engine_resume(*, workflow: Workflow | None = None, user=None) -> EngineSwitch:
    switch, _ = EngineSwitch.objects.update_or_create(
        workflow=workflow, defaults={"paused": False, "reason": "", "changed_by": user})
    runtime._switch_cache.clear()
    audit_record(action="engine.resume", actor=user, target=workflow,
                 data={"scope": str(workflow.pk) if workflow else "all"})
    runs_resume_paused()
    return switch


def runs_resume_paused(limit: int = 200) -> int:
    """Paused runs whose workflow is no longer paused go on where they stopped."""
    resumed = 0
    ids = list(Run.objects.filter(status=RunStatus.PAUSED).order_by("created_at")
               .values_list("pk", "workflow_id")[:limit])
    for run_id, workflow_id in ids:
        if engine_paused_reason(workflow_id=workflow_id):
            continue
        with transaction.atomic():
            run = rows.run_lock(run_id)
            if run is None or run.status != RunStatus.PAUSED:
                continue
            log_context_bind(run)
            step = step_load(run)
            for row in step.rows.values():
                if row.status == NodeStatus.QUEUED:  # its message was refused while paused
                    step.dispatch.append(row)
            advance(step)
            decide_run_status(step)
            write_step(step)
            resumed += 1
    return resumed
