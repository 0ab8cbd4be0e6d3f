"""The runs pages: /runs/ (every run the user may read, filtered, searched, keyset
pages, several retried or cancelled at once, live) and /runs/<id>/ (one run, with
Retry and Cancel). Views parse input, call the search selectors or one service, render."""

from __future__ import annotations

import json
import uuid

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from rest_framework.exceptions import APIException

from apps.accounts.roles import EDITOR, has_role
from apps.console.access import editor_required, viewer_required
from apps.privacy.selectors import run_detail_masked
from apps.runs import debug, operations, search, selectors
from apps.runs.apis import RunFilterSerializer
from apps.runs.models import Run, RunStatus
from apps.workflows.models import Workflow

TRIGGERS = ("manual", "webhook", "schedule", "error")
ACTIVE = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.WAITING, RunStatus.PAUSED)


def _first_errors(errors) -> dict[str, str]:
    return {field: " ".join(str(m) for m in problems) if isinstance(problems, list)
            else str(problems) for field, problems in errors.items()}


@require_GET
@viewer_required
def run_list(request):
    filters = RunFilterSerializer(data=request.GET)
    errors: dict[str, str] = {}
    page = search.RunPage(rows=[], next_cursor=None)
    if filters.is_valid():
        try:
            page = search.run_page(search.run_filter(**filters.validated_data,
                                                     user=request.user),
                                   cursor=request.GET.get("cursor") or None)
        except search.BadCursor as exc:
            errors["cursor"] = str(exc)
    else:
        errors = _first_errors(filters.errors)
    query = request.GET.copy()
    query.pop("cursor", None)
    query.pop("partial", None)
    context = {
        "rows": search.run_rows(page.rows, user=request.user),
        "next_cursor": page.next_cursor,
        "errors": errors, "form": {k: request.GET.get(k, "") for k in (
            "workflow", "status", "trigger", "version", "started_by", "created_after",
            "created_before", "q")},
        "query": query.urlencode(), "first_page": not request.GET.get("cursor"),
        "workflows": Workflow.objects.filter(deleted_at__isnull=True).order_by("name")
        .values("id", "name")[:500],
        "statuses": RunStatus.values, "triggers": TRIGGERS,
        "can_act": has_role(request.user, EDITOR),
        "filtered": any(request.GET.get(k) for k in (
            "workflow", "status", "trigger", "version", "started_by", "created_after",
            "created_before", "q")),
    }
    if request.GET.get("partial"):  # the live refresh: the rows only
        return render(request, "runs/_rows.html", context, status=400 if errors else 200)
    return render(request, "runs/list.html", context, status=400 if errors else 200)


def _back(request) -> str:
    target = request.POST.get("next", "")
    if target.startswith("/runs/") and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}):
        return target
    return reverse("runs:list")


@require_POST
@editor_required
def run_bulk(request):
    """Retry or cancel the selected runs, each on its own; says which were refused, why."""
    action = request.POST.get("action", "")
    ids = request.POST.getlist("run")
    if action not in operations.RunOperation.values:
        messages.error(request, "Choose Retry or Cancel.")
        return redirect(_back(request))
    if not ids:
        messages.error(request, "Select the runs first.")
        return redirect(_back(request))
    if len(ids) > operations.BULK_MAX:
        messages.error(request, f"Select at most {operations.BULK_MAX} runs at a time.")
        return redirect(_back(request))
    try:
        keys = [uuid.UUID(i) for i in ids]
    except ValueError:
        messages.error(request, "A selected run id is not a run's.")
        return redirect(_back(request))
    operation = operations.RunOperation(action)
    result = operations.runs_operate(run_ids=keys, user=request.user, operation=operation)
    done, refused, missing = len(result.done), result.refused, len(result.missing)
    if done:
        messages.success(request, f"{done} run{'s' if done != 1 else ''} "
                                  f"{operation.done_word}.")
    if refused:
        messages.error(request, f"{len(refused)} refused — " + "; ".join(
            f"{pk[:8]}: {why}" for pk, why in list(refused.items())[:10]))
    if missing:
        messages.error(request, f"{missing} selected run{'s' if missing != 1 else ''} "
                                "no longer exist.")
    return redirect(_back(request))


@require_GET
@viewer_required
def run_detail(request, run_id):
    run = Run.objects.select_related("workflow", "version", "started_by",
                                     "started_by_token").filter(pk=run_id).first()
    if run is None:
        raise Http404("No such run.")
    stored = selectors.run_get(run_id=run_id)
    detail = run_detail_masked(selectors.run_detail(run=stored), run=stored, user=request.user)
    [row] = search.run_rows([run], user=request.user)
    return render(request, "runs/detail.html", {
        "run": run, "row": row, "detail": detail,
        "input": json.dumps(detail["input"], indent=2, ensure_ascii=False),
        "vars": json.dumps(run.vars, indent=2, ensure_ascii=False) if run.vars else "",
        "can_act": has_role(request.user, EDITOR),
        "workflow_deleted": run.workflow.deleted_at is not None,
        "can_retry": run.status == RunStatus.FAILED and run.workflow.deleted_at is None,
        "can_cancel": run.status in ACTIVE,
    })


@require_POST
@editor_required
def run_action(request, run_id, action: str):
    if action not in operations.RunOperation.values:
        raise Http404
    run = Run.objects.select_related("workflow", "started_by").filter(pk=run_id).first()
    if run is None:
        raise Http404("No such run.")
    operation = operations.RunOperation(action)
    try:
        operations.run_operate(run=run, user=request.user, operation=operation)
    except APIException as exc:
        messages.error(request, f"Not {operation.done_word}: {exc.detail}")
    else:
        messages.success(request, f"Run {str(run.pk)[:8]} {operation.done_word}.")
    return redirect("runs:detail", run_id=run.pk)


@require_POST
@editor_required
def run_debug(request, run_id):
    """Debug in editor: a test run of the draft with this run's input (and, when asked,
    its nodes' outputs pinned), shown in the editor."""
    run = Run.objects.select_related("workflow").filter(pk=run_id).first()
    if run is None:
        raise Http404("No such run.")
    try:
        started = debug.run_debug_start(run=run, user=request.user,
                                        pin_outputs=request.POST.get("pin") == "on")
    except APIException as exc:
        messages.error(request, f"Not debugged: {exc.detail}")
        return redirect("runs:detail", run_id=run.pk)
    return redirect(f"/editor/{run.workflow_id}/?run={started.run.pk}")
