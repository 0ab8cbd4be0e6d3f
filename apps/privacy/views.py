"""The console's Personal data page (admins): per workflow, the JSON paths that hold
personal data and the detectors on; who holds the `personal-data` permission (users and
teams), given and taken here. Views parse the form and call one service."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from apps.approvals.models import Team
from apps.audit.personal import Detector
from apps.console.access import admin_required
from apps.core.errors import Unprocessable
from apps.privacy import services
from apps.privacy.models import PersonalDataGrant, PersonalDataPolicy
from apps.workflows.selectors import workflow_list

LIST_LIMIT = 500


@require_GET
@admin_required
def personal_data_page(request, *, status: int = 200, problems=None):
    policies = {p.workflow_id: p for p in PersonalDataPolicy.objects.all()}
    workflows = [{"id": w.pk, "name": w.name, "policy": policies.get(w.pk)}
                 for w in workflow_list()[:LIST_LIMIT]]
    grants = PersonalDataGrant.objects.select_related("user", "team", "granted_by") \
        .order_by("created_at")
    return render(request, "privacy/personal_data.html", {
        "section": "personal-data", "workflows": workflows, "grants": grants,
        "detectors": [d.value for d in Detector], "problems": problems or {}},
        status=status)


@require_POST
@admin_required
def personal_data_policy(request):
    workflow = workflow_list().filter(pk=request.POST.get("workflow") or None).first() \
        if _uuid(request.POST.get("workflow")) else None
    if workflow is None:
        messages.error(request, "Choose a workflow.")
        return redirect("console:personal-data")
    paths = [line.strip() for line in request.POST.get("paths", "").splitlines()
             if line.strip()]
    try:
        services.policy_set(workflow=workflow, user=request.user, paths=paths,
                            detectors=request.POST.getlist("detectors"))
    except Unprocessable as exc:
        request.method = "GET"
        return personal_data_page(request, status=400,
                                  problems={"workflow": workflow.pk,
                                            "errors": exc.extra.get("errors", {})})
    messages.success(request, f"Personal data of {workflow.name} saved.")
    return redirect("console:personal-data")


@require_POST
@admin_required
def personal_data_grant(request):
    granted = request.POST.get("granted") == "1"
    name = request.POST.get("name", "").strip()
    kind = request.POST.get("kind", "user")
    if kind == "team":
        target = {"team": Team.objects.filter(name__iexact=name).first()}
    else:
        target = {"user": get_user_model().objects.filter(username=name).first()}
    if next(iter(target.values())) is None:
        messages.error(request, f"No {kind} named {name!r}.")
        return redirect("console:personal-data")
    services.grant_set(granted=granted, actor=request.user, **target)
    messages.success(request, f"{name} {'now sees' if granted else 'no longer sees'} "
                              "personal data.")
    return redirect("console:personal-data")


def _uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
