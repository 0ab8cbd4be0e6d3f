"""Runtime settings read on the hot path, cached per process for a second: the kill
switch, the latest published version, a workflow's concurrency limit and run timeout."""

from __future__ import annotations

from typing import Any

from django.db.models import F, Q

from apps.core.cache import TtlCache
from apps.runs.models import EngineSwitch, WorkflowRuntime
from apps.workflows.models import Workflow, WorkflowVersion

_switch_cache = TtlCache(1.0)
_version_cache = TtlCache(1.0)


def engine_paused_reason(*, workflow_id, fresh: bool = False) -> str | None:
    """Why new work of this workflow is refused (the kill switch), or None. May lag by
    up to a second behind a change made in another process, unless `fresh`."""

    def load():
        row = (EngineSwitch.objects.filter(Q(workflow__isnull=True) | Q(workflow=workflow_id),
                                           paused=True)
               .order_by(F("workflow").asc(nulls_first=True)).values("workflow", "reason")
               .first())
        if row is None:
            return None
        scope = "All workflows are" if row["workflow"] is None else "This workflow is"
        return f"{scope} paused by an administrator" + (
            f": {row['reason']}" if row["reason"] else ".")

    if fresh:
        _switch_cache.forget(str(workflow_id))
    return _switch_cache.get(str(workflow_id), load)


def latest_version(*, workflow: Workflow) -> WorkflowVersion | None:
    return _version_cache.get(workflow.pk, lambda: workflow.versions.order_by("-number")
                              .only("pk", "number", "graph", "pins", "workflow_id").first())


_limit_cache = TtlCache(1.0)


def runtime_settings(workflow_id) -> dict[str, Any] | None:
    """Concurrency limit and run timeout; may lag a second behind another process's change."""
    return _limit_cache.get(workflow_id, lambda: WorkflowRuntime.objects.filter(
        workflow_id=workflow_id).values("max_concurrency", "run_timeout_s").first())


def concurrency_limit(workflow_id) -> int | None:
    runtime = runtime_settings(workflow_id)
    return runtime["max_concurrency"] if runtime else None


def runtime_settings_forget() -> None:
    """A workflow's runtime settings changed in this process: read them afresh."""
    _limit_cache.clear()
