"""Page views for the canvas editor (/editor/<uuid>/) and the workflow list (/workflows/).

They render a shell whose `weft-boot` JSON tells the React app what to show and who the
user is; the data itself comes from the API. `ensure_csrf_cookie` guarantees the
`csrftoken` cookie the app sends back as `X-CSRFToken`.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from apps.accounts.roles import VIEWER, roles_of


def _boot(*, request: HttpRequest, page: str, workflow_id: UUID | None = None) -> dict[str, Any]:
    roles = roles_of(request.user)
    if VIEWER not in roles:
        raise PermissionDenied("You need at least the viewer role to see workflows.")
    return {
        "page": page,
        "workflow_id": str(workflow_id) if workflow_id else None,
        "user": {"username": request.user.get_username(), "roles": sorted(roles)},
        "api_base": "/api",
    }


@login_required
@ensure_csrf_cookie
def editor_page(request: HttpRequest, workflow_id: UUID) -> HttpResponse:
    # Whether the workflow exists and may be read is answered by the API the page calls,
    # which shows a clear message; the shell itself holds no workflow data.
    data = _boot(request=request, page="editor", workflow_id=workflow_id)
    return render(request, "editor/editor.html", {"data": data, "page_title": "Editor"})


@login_required
@ensure_csrf_cookie
def workflow_list_page(request: HttpRequest) -> HttpResponse:
    data = _boot(request=request, page="workflows")
    return render(request, "editor/workflows.html", {"data": data, "page_title": "Workflows"})
