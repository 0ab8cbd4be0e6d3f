"""The reviewer inbox's page (/inbox/ and /inbox/<task_id>/): a shell whose `weft-boot`
JSON tells the React inbox who the user is; tasks come from the API and the socket."""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from apps.accounts.roles import ADMIN, EDITOR, REVIEWER, roles_of
from apps.approvals import selectors

INBOX_ROLES = {REVIEWER, EDITOR, ADMIN}


@login_required
@ensure_csrf_cookie
def inbox_page(request: HttpRequest, task_id: UUID | None = None) -> HttpResponse:
    roles = roles_of(request.user)
    if not roles & INBOX_ROLES:
        raise PermissionDenied("The inbox is for reviewers, editors and admins.")
    data = {
        "page": "inbox",
        "task_id": str(task_id) if task_id else None,
        "user": {"id": request.user.pk, "username": request.user.get_username(),
                 "roles": sorted(roles)},
        "team_ids": [str(pk) for pk in selectors.teams_of(user=request.user)],
        "api_base": "/api",
    }
    return render(request, "approvals/inbox.html", {"data": data, "page_title": "Inbox"})
