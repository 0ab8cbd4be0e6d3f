"""Resuming a waiting node: a timer came due, an approval was decided, a child run
ended. With outputs, or failed (then its retry policy applies)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.runs import refs, rows
from apps.runs.engine_hooks import engine_hooks
from apps.runs.models import NodeRun, NodeStatus, Run
from apps.runs.services.advance import advance, decide_run_status, write_step
from apps.runs.services.execution import NodeFailure, apply_failure, passthrough
from apps.runs.services.runtime import engine_paused_reason
from apps.runs.services.step import (
    Outcome,
    Step,
    StepOutdated,
    log_context_bind,
    set_node_status,
    step_load,
)
from apps.runs.services.transitions import RUN_ACTIVE


def node_run_resume(*, node_run_id: int, outputs: dict[str, Any] | None = None,
                    error: dict[str, str] | None = None) -> str:
    """Finish a waiting node (a timer came due, an approval was decided, a child run
    ended): with `outputs` (data from outside: checked and escaped, see apps.runs.refs;
    a JsonProblem names what cannot be kept), or failed with `error` {type, message}."""
    if outputs is not None:
        outputs = refs.admit(outputs, root="outputs")
    with transaction.atomic():
        row = NodeRun.objects.filter(pk=node_run_id).only("run_id").first()
        if row is None:
            return Outcome.DROPPED
        run = rows.run_lock(row.run_id)
        if run is None or run.status not in RUN_ACTIVE:
            return Outcome.DROPPED
        return resume_locked(run, node_run_id, outputs, error)


def resume_locked(run: Run, node_run_id: int, outputs, error) -> str:
    log_context_bind(run)
    step = step_load(run)
    current = next((r for r in step.rows.values() if r.pk == node_run_id), None)
    if current is None or current.status != NodeStatus.WAITING:
        return Outcome.DROPPED
    step.paused = bool(engine_paused_reason(workflow_id=run.workflow_id))
    if error is not None:  # a failed wait follows the retry policy
        apply_failure(step, current, NodeFailure(error["type"], error["message"]))
    else:
        state = current.state or {}
        if outputs is None:
            outputs = state.get("outputs") or state.get("payload", {}).get("outputs")
        if outputs is None:
            outputs = passthrough(step, current).ports
        set_node_status(step, current, NodeStatus.SUCCEEDED, outputs=outputs, finished_at=step.now)
    deadline_after_wait(step, current)
    advance(step)
    decide_run_status(step)
    try:
        with transaction.atomic():
            write_step(step)
    except StepOutdated:
        return Outcome.DROPPED
    return current.status


def deadline_after_wait(step: Step, row: NodeRun) -> None:
    """A wait that does not count toward the run's time limit moves its deadline on by
    the time it took."""
    kind = engine_hooks.wait_kinds.get((row.state or {}).get("kind"))
    run = step.run
    if kind is None or not kind.pauses_deadline or run.deadline_at is None:
        return
    waited = step.now - (row.started_at or row.created_at or step.now)
    if waited.total_seconds() > 0:
        run.deadline_at = run.deadline_at + waited
        step.run_fields["deadline_at"] = run.deadline_at
