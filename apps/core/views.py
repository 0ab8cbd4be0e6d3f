"""Liveness and readiness probes."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views import defaults

from apps.core import home as home_selectors
from apps.core import readiness


def healthz(request):
    return JsonResponse({"status": "ok"})


def readyz(request):
    """Each dependency checked with its own short connection, all at once: an answer
    within 1 s, naming what is down (apps/core/readiness.py)."""
    result = readiness.readiness()
    return JsonResponse(result.as_dict(), status=503 if result.down else 200)


@login_required
def home(request):
    return render(request, "core/home.html",
                  {"attention": home_selectors.attention_for(user=request.user)})


def not_found(request, exception=None):
    """404 for a path no route matches: the API's error shape under /api/ (a client
    that sends `/api/runs/not-a-uuid/` reads JSON, as for any other 404), Django's
    page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "not_found", "detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)
