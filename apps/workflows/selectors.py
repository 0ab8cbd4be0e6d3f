from __future__ import annotations

from django.db.models import Max, QuerySet
from django.shortcuts import get_object_or_404

from apps.workflows.models import Workflow, WorkflowVersion
from apps.workflows.names import name_key


def workflow_list(*, search: str = "") -> QuerySet[Workflow]:
    qs = (Workflow.objects.filter(deleted_at__isnull=True)
          .select_related("owner", "updated_by")
          .annotate(latest_version=Max("versions__number"))
          .order_by("-updated_at", "id"))
    if search:
        qs = qs.filter(name__icontains=search)
    return qs


def workflow_name_free(*, name: str) -> str:
    """`name`, or `name (copy)`, `name (copy 2)`... whichever no workflow has (deleted
    ones do not count): the name an import, or a draft from a template, takes."""
    candidate, n = name, 1
    while Workflow.objects.filter(name_key=name_key(candidate),
                                  deleted_at__isnull=True).exists():
        candidate = f"{name[:180]} (copy{'' if n == 1 else f' {n}'})"
        n += 1
    return candidate


def workflow_get(*, workflow_id) -> Workflow:
    return get_object_or_404(workflow_list(), pk=workflow_id)


def workflow_version_list(*, workflow: Workflow) -> QuerySet[WorkflowVersion]:
    return workflow.versions.select_related("created_by").defer("graph")


def workflow_version_get(*, workflow: Workflow, number: int) -> WorkflowVersion:
    return get_object_or_404(workflow.versions.select_related("created_by"), number=number)


def workflow_version_latest(*, workflow: Workflow) -> WorkflowVersion | None:
    return workflow.versions.order_by("-number").first()
