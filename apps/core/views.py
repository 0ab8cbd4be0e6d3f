"""Liveness and readiness probes."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render

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
    return render(request, "core/home.html")
