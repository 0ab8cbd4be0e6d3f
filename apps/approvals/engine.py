"""The approvals app's entries in the engine's tables (apps.runs.engine_hooks): an
`approval` wait creates its task in the step's transaction, and time spent on it does
not count toward the run's limit; a run that ends closes its open tasks in the same
transaction."""

from __future__ import annotations

from apps.approvals import services
from apps.approvals.nodes import WAIT_KIND
from apps.runs.engine_hooks import HookTime, RunStatusHook, WaitKind, engine_hooks
from apps.runs.models import RunStatus

engine_hooks.wait_kind_register(WaitKind(
    name=WAIT_KIND, on_wait=services.task_create_for_wait, pauses_deadline=True))

engine_hooks.run_status_register(RunStatusHook(
    name="approvals.close_open_tasks",
    statuses=frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED}),
    when=HookTime.IN_TRANSACTION, handler=services.tasks_close_for_run))
