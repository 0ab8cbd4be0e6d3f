"""The privacy app's entry in the engine's tables (apps.runs.engine_hooks): a run that
erased a person's values elsewhere (`privacy.erase`) loses them itself once it ends,
whatever its end, after the transaction that ended it commits. Until then its later
steps could still read them (to tell the person it is done)."""

from __future__ import annotations

import logging

from apps.nodes.base import NodeError
from apps.privacy.nodes import EraseNode, erase_values
from apps.privacy.services import run_erase_own
from apps.runs.engine_hooks import HookTime, RunStatusHook, engine_hooks
from apps.runs.models import NodeStatus, Run
from apps.runs.services.execution import make_context
from apps.runs.services.plans import compiled_by_id
from apps.runs.services.step import step_load
from apps.runs.services.transitions import RUN_FINISHED

logger = logging.getLogger("weft.privacy")


def _erases(run: Run) -> bool:
    compiled = compiled_by_id(run.version_id, run.workflow_id)
    return any(t is EraseNode for t in compiled.types.values())


def run_erase_own_values(*, run: Run, status: str) -> None:
    """Erase from a finished run the values its erase steps erased elsewhere: the same
    expressions, read again over the run's stored data, which only the erase changes."""
    run = Run.objects.select_related("workflow").get(pk=run.pk)
    step = step_load(run)
    for node_id, row in step.rows.items():
        if step.compiled.types[node_id] is not EraseNode or row.status != NodeStatus.SUCCEEDED:
            continue
        if row.error:  # it failed and its policy carried on: nothing was erased elsewhere
            continue
        try:
            values = erase_values(make_context(step, row), step.compiled.configs[node_id])
        except NodeError as exc:
            logger.error("run %s: the values of erase step %r could not be read again to "
                         "erase them from the run itself: %s", run.pk, node_id, exc.message)
            continue
        run_erase_own(run=run, values=values)


engine_hooks.run_status_register(RunStatusHook(
    name="privacy.erase_own_values", statuses=frozenset(RUN_FINISHED),
    when=HookTime.AFTER_COMMIT, handler=run_erase_own_values, applies=_erases))
