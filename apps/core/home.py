"""What the home page shows: what needs attention now. Runs failed in the last 24 hours
grouped by workflow with the latest error, active runs, recently edited workflows, and
the tasks waiting for this user. Reads only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count, Max
from django.utils import timezone

from apps.accounts.roles import REVIEWER, VIEWER, has_role

RECENT = 6
FAILED_SHOWN = 10  # workflows listed; the total counts them all


@dataclass
class Attention:
    failed: list[dict] = field(default_factory=list)  # per workflow: count, latest error
    failed_total: int = 0
    failed_workflows: int = 0
    active: list = field(default_factory=list)
    active_total: int = 0
    workflows: list = field(default_factory=list)
    tasks: dict = field(default_factory=dict)
    has_workflows: bool = False


def attention_for(*, user) -> Attention:
    from apps.approvals.selectors import tab_counts
    from apps.privacy.selectors import rows_masked
    from apps.runs.models import Run, RunStatus
    from apps.workflows.models import Workflow

    result = Attention()
    if not has_role(user, VIEWER):
        return result
    since = timezone.now() - timedelta(hours=24)
    failed = Run.objects.filter(status=RunStatus.FAILED, finished_at__gte=since,
                                parent_run__isnull=True, workflow__deleted_at__isnull=True)
    grouped = failed.values("workflow_id", "workflow__name").annotate(count=Count("id"),
                                                                     last=Max("finished_at"))
    groups = list(grouped.order_by("-last")[:FAILED_SHOWN])
    # The latest failure of each workflow listed, in one query (not one per workflow).
    latest_of = {row["workflow_id"]: row for row in failed.filter(
        workflow_id__in=[g["workflow_id"] for g in groups]).order_by(
        "workflow_id", "-finished_at").distinct("workflow_id").values(
        "workflow_id", "id", "error", "finished_at")}
    for group in groups:
        latest = latest_of[group["workflow_id"]]
        error = latest["error"] if isinstance(latest["error"], dict) else {}
        result.failed.append({"workflow_id": group["workflow_id"],
                              "name": group["workflow__name"], "count": group["count"],
                              "run_id": latest["id"], "at": latest["finished_at"],
                              "error": error.get("message", ""),
                              "node_id": error.get("node_id", "")})
    # an error may quote a personal value: masked for users without the permission
    result.failed = rows_masked(result.failed, runs=[(f["run_id"], f["workflow_id"])
                                                     for f in result.failed],
                                user=user, fields=("error",))
    result.failed_total = failed.count()  # every failed run, not only the groups shown
    result.failed_workflows = grouped.count()
    active = Run.objects.filter(status__in=(RunStatus.QUEUED, RunStatus.RUNNING,
                                            RunStatus.WAITING, RunStatus.PAUSED),
                                parent_run__isnull=True)
    result.active_total = active.count()
    result.active = list(active.select_related("workflow").order_by("-created_at")
                         .only("id", "status", "created_at", "workflow__name")[:RECENT])
    workflows = Workflow.objects.filter(deleted_at__isnull=True)
    result.has_workflows = workflows.exists()
    result.workflows = list(workflows.select_related("updated_by").order_by("-updated_at")
                            .only("id", "name", "updated_at", "updated_by__username")[:RECENT])
    if has_role(user, REVIEWER) or has_role(user, "editor"):
        result.tasks = tab_counts(user=user)
    return result
