"""Who opens which console page. Admins see and manage everything; editors open the
pages of what they may use (credentials, variables, Triton servers); everyone with a
role manages their own API tokens. Anonymous visitors go to the sign-in page; a
signed-in user without the role gets 403 naming it."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render

from apps.accounts.roles import ADMIN, EDITOR, VIEWER, has_role

# section -> the role that opens its page (the console's sidebar shows what the user may open)
SECTIONS = (
    ("audit", "Audit log", "console:audit", ADMIN),
    ("users", "Users and roles", "console:users", ADMIN),
    ("teams", "Teams", "console:teams", ADMIN),
    ("tokens", "API tokens", "console:tokens", VIEWER),
    ("credentials", "Credentials", "console:credentials", EDITOR),
    ("variables", "Variables", "console:variables", EDITOR),
    ("triton", "Triton servers", "console:triton", EDITOR),
    ("models", "Models", "console:models", EDITOR),
    ("operations", "Operations", "console:operations", ADMIN),
    ("model-agreement", "Reviewer agreement", "console:model-agreement", EDITOR),
    ("personal-data", "Personal data", "console:personal-data", ADMIN),
)


def sections_for(user) -> list[dict]:
    return [{"key": key, "label": label, "url": url} for key, label, url, role in SECTIONS
            if has_role(user, role)]


def role_required(role: str):
    """Anonymous: to the sign-in page. Signed in without `role`: 403."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, role):
                return render(request, "console/forbidden.html", {"role": role}, status=403)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


admin_required = role_required(ADMIN)
editor_required = role_required(EDITOR)
viewer_required = role_required(VIEWER)
