"""Retry and cancel as an operator asks for them: one run (its page, its panel in the
editor, POST /api/runs/<id>/retry/ and /cancel/) or several at once (the runs page's
selection, POST /api/runs/bulk/). Both go through `run_operate`, so the same rules
refuse the same runs with the same words:

- a run of a deleted workflow stays readable everywhere (runs page, run page, API, live
  view) until retention deletes it, and may be cancelled, but not retried (there is no
  workflow to go on with);
- a test run of a draft belongs to the builder who started it: other editors may read
  it, but only that builder or an admin retries or cancels it;
- then the runs service's own rules (only a failed run is retried, only an active one
  cancelled, nothing is retried while the engine is paused).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from django.db import models
from rest_framework.exceptions import APIException, PermissionDenied

from apps.accounts.roles import ADMIN, has_role
from apps.core.errors import Conflict
from apps.runs import services
from apps.runs.models import Run, RunMode

BULK_MAX = 200  # runs one request may name


class RunOperation(models.TextChoices):
    RETRY = "retry"
    CANCEL = "cancel"

    @property
    def done_word(self) -> str:
        return "retried" if self == RunOperation.RETRY else "cancelled"


_SERVICES = {RunOperation.RETRY: services.run_retry, RunOperation.CANCEL: services.run_cancel}


def run_operation_refusal(*, run: Run, user, operation: RunOperation) -> APIException | None:
    """Why `user` may not do `operation` to `run` (before the run's state is looked at)."""
    if operation == RunOperation.RETRY and run.workflow.deleted_at is not None:
        return Conflict("Its workflow was deleted: the run stays readable, and may be "
                        "cancelled, but not retried.", code="workflow_deleted")
    if (run.mode == RunMode.TEST and run.started_by_id not in (None, user.pk)
            and not has_role(user, ADMIN)):
        who = run.started_by.username if run.started_by else "another builder"
        return PermissionDenied(f"A test run of the draft belongs to {who}, who started "
                                "it: only they or an admin may retry or cancel it.",
                                code="not_your_test_run")
    return None


def run_operate(*, run: Run, user, operation: RunOperation) -> Run:
    """Retry or cancel one run; raises the refusal (APIException) when there is one."""
    refusal = run_operation_refusal(run=run, user=user, operation=operation)
    if refusal is not None:
        raise refusal
    return _SERVICES[operation](run=run, user=user)


@dataclass
class BulkResult:
    operation: RunOperation
    done: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # run id -> why
    missing: list[str] = field(default_factory=list)  # ids that are no run


def runs_operate(*, run_ids: list[uuid.UUID], user, operation: RunOperation) -> BulkResult:
    """Retry or cancel each run on its own, oldest first: one refusal stops no other."""
    result = BulkResult(operation=operation)
    found = Run.objects.filter(pk__in=run_ids).select_related("workflow", "started_by") \
        .order_by("created_at")
    seen = set()
    for run in found:
        seen.add(run.pk)
        try:
            run_operate(run=run, user=user, operation=operation)
        except APIException as exc:
            result.refused[str(run.pk)] = str(exc.detail)
        else:
            result.done.append(str(run.pk))
    result.missing = [str(pk) for pk in dict.fromkeys(run_ids) if pk not in seen]
    return result
