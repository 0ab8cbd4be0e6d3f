"""The engine's own entries in the hooks tables (apps.runs.engine_hooks): what happens
when a run reaches a finished status, and the waits on child runs. Other apps add
theirs the same way (apps.approvals.engine); nothing of it is written into the step.

- succeeded, failed, cancelled: counted (metrics), after commit;
- succeeded, failed, for a child run: its parent node or map item goes on, in the
  transaction;
- failed, unless itself started by an error trigger or a test run: the error-trigger
  workflows start, after commit;
- succeeded, failed, cancelled, for a top-level production run: its workflow's queued
  runs may start (a concurrency slot is free), after commit. (Test runs of a draft
  hold no slot and fire no error trigger.)
"""

from __future__ import annotations

from apps.runs import metrics
from apps.runs.engine_hooks import HookTime, RunStatusHook, WaitKind, engine_hooks
from apps.runs.models import Run, RunMode, RunStatus
from apps.runs.services import children, runtime
from apps.runs.services.dispatch import enqueue
from apps.runs.services.transitions import RUN_FINISHED


def _error_triggers(*, run: Run, status: str) -> None:
    enqueue("runs.error_triggers", [str(run.pk)])


def _free_capacity(*, run: Run, status: str) -> None:
    """A slot of the workflow's concurrency limit is free: its queued runs may start.
    (A cancel looks whatever the limit: it may just have been lifted.)"""
    if status == RunStatus.CANCELLED or runtime.concurrency_limit(run.workflow_id):
        enqueue("runs.start_queued", [str(run.workflow_id)])


engine_hooks.wait_kind_register(WaitKind(name="subworkflow", on_wait=children.subworkflow_wait))
engine_hooks.wait_kind_register(WaitKind(name="map", on_wait=children.map_wait))

engine_hooks.run_status_register(RunStatusHook(
    name="runs.count_finished", statuses=frozenset(RUN_FINISHED), when=HookTime.AFTER_COMMIT,
    handler=metrics.count_run_finished))
engine_hooks.run_status_register(RunStatusHook(
    name="runs.parent_notify", statuses=frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED}),
    when=HookTime.IN_TRANSACTION, handler=children.parent_notify,
    applies=lambda run: run.parent_node_run_id is not None))
engine_hooks.run_status_register(RunStatusHook(
    name="runs.error_triggers", statuses=frozenset({RunStatus.FAILED}),
    when=HookTime.AFTER_COMMIT, handler=_error_triggers,
    applies=lambda run: run.trigger != "error" and run.mode != RunMode.TEST))
engine_hooks.run_status_register(RunStatusHook(
    name="runs.free_capacity", statuses=frozenset(RUN_FINISHED), when=HookTime.AFTER_COMMIT,
    handler=_free_capacity,
    applies=lambda run: run.parent_run_id is None and run.mode != RunMode.TEST))
