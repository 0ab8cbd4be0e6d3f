"""Everything that reads runs for a caller."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Count, Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from apps.runs.models import EngineSwitch, NodeRun, Run, RunStatus

LIST_FIELDS = ("id", "workflow_id", "version__number", "status", "trigger", "created_at",
               "started_at", "finished_at", "error")


def run_list(*, workflow=None, status: str | None = None, created_after=None,
             created_before=None) -> QuerySet[Run]:
    qs = Run.objects.select_related("version").only(
        "id", "workflow_id", "version__number", "status", "trigger", "created_at", "started_at",
        "finished_at", "error").order_by("-created_at", "id")
    if workflow:
        qs = qs.filter(workflow_id=workflow)
    if status:
        qs = qs.filter(status=status)
    if created_after:
        qs = qs.filter(created_at__gte=created_after)
    if created_before:
        qs = qs.filter(created_at__lt=created_before)
    return qs


def run_get(*, run_id) -> Run:
    nodes = NodeRun.objects.order_by("created_at", "id")
    return get_object_or_404(Run.objects.select_related("version").prefetch_related(
        Prefetch("node_runs", queryset=nodes)), pk=run_id)


def run_detail(*, run: Run) -> dict[str, Any]:
    """The GET /api/runs/<id>/ body (also the live view's first message)."""
    return {
        **run_summary(run=run),
        "input": run.input,
        "trace_id": run.trace_id,
        "parent_run": str(run.parent_run_id) if run.parent_run_id else None,
        "node_runs": [
            {"node_id": n.node_id, "status": n.status, "attempt": n.attempt,
             "inputs": n.inputs, "outputs": n.outputs,
             "error": {"type": n.error.get("type", "error"), "message": n.error.get(
                 "message", "")} if n.error else None,
             "started_at": _iso(n.started_at), "finished_at": _iso(n.finished_at)}
            for n in run.node_runs.all()
        ],
    }


def _iso(moment) -> str | None:
    if moment is None:
        return None
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def run_summary(*, run: Run) -> dict[str, Any]:
    return {"id": str(run.pk), "workflow": str(run.workflow_id),
            "version": run.version.number, "status": run.status, "trigger": run.trigger,
            "created_at": _iso(run.created_at), "started_at": _iso(run.started_at),
            "finished_at": _iso(run.finished_at), "error": run.error}


def engine_switches() -> dict[str, Any]:
    rows = EngineSwitch.objects.filter(paused=True).select_related("changed_by")
    body: dict[str, Any] = {"paused": False, "reason": "", "workflows": []}
    for row in rows:
        entry = {"reason": row.reason, "changed_at": _iso(row.changed_at),
                 "changed_by": row.changed_by.username if row.changed_by else None}
        if row.workflow_id is None:
            body.update(paused=True, **entry)
        else:
            body["workflows"].append({"workflow": str(row.workflow_id), **entry})
    return body


def queue_depths() -> dict[str, int]:
    import redis

    from celery_worker.app import QUEUES

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=1,
                                  socket_connect_timeout=1)
    try:
        # kombu's Redis transport keeps priority sub-queues as "<queue>\x06\x16<n>".
        depths = {}
        for queue in QUEUES:
            names = [queue] + [f"{queue}\x06\x16{p}" for p in (3, 6, 9)]
            depths[queue] = sum(client.llen(name) for name in names)
        return depths
    except redis.RedisError:
        return {}
    finally:
        client.close()


def runs_active_counts() -> dict[str, int]:
    active = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.WAITING, RunStatus.PAUSED)
    counts = dict.fromkeys(active, 0)
    for row in Run.objects.filter(status__in=active).values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    return counts
