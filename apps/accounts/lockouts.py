"""Sign-in throttling (django-axes) as Weft answers it: the attempted account named one
way whatever the caller typed, and one message for the login page and the API."""

from __future__ import annotations

import math

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render

LOCKOUT_CODE = "too_many_attempts"


def lockout_seconds() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def lockout_message() -> str:
    minutes = max(1, math.ceil(lockout_seconds() / 60))
    unit = "minute" if minutes == 1 else "minutes"
    return f"Too many sign-in attempts; try again in {minutes} {unit}."


def attempted_username(request, credentials: dict | None) -> str | None:
    """The account an attempt is about: the user's username when the login (username or
    e-mail, any case of the e-mail) names one, else what was typed, lower-cased, so that
    switching between the name and the address does not double the allowance."""
    login = (credentials or {}).get("username")
    if login is None and request is not None:
        login = getattr(request, "POST", {}).get("username")
    if not login:
        return None
    login = str(login).strip()[:150]
    users = get_user_model().objects
    user = (users.filter(email__iexact=login) if "@" in login
            else users.filter(username=login)).order_by("id").first()
    return user.get_username() if user is not None else login.lower()


def lockout_api_response() -> JsonResponse:
    response = JsonResponse({"code": LOCKOUT_CODE, "detail": lockout_message(),
                             "retry_after": lockout_seconds()}, status=429)
    response["Retry-After"] = str(lockout_seconds())
    return response


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the login page again with the message (429), or JSON for
    anything under /api/."""
    if request.path.startswith("/api/"):
        return lockout_api_response()
    response = render(request, "accounts/login.html", {
        "lockout_message": lockout_message(),
        "next": request.POST.get("next", "") if request.method == "POST" else "",
    }, status=429)
    response["Retry-After"] = str(lockout_seconds())
    return response
