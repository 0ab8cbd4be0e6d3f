"""Liveness and readiness probes."""

from __future__ import annotations

import redis
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views import defaults
from kombu import Connection


def healthz(request):
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_redis() -> None:
    client = redis.Redis.from_url(settings.CACHE_URL, socket_timeout=1, socket_connect_timeout=1)
    try:
        client.ping()
    finally:
        client.close()


def _check_broker() -> None:
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=1) as conn:
        conn.ensure_connection(max_retries=1, timeout=1)


CHECKS = {"database": _check_database, "redis": _check_redis, "broker": _check_broker}


def readyz(request):
    checks: dict[str, str] = {}
    down = []
    for name, check in CHECKS.items():
        try:
            check()
            checks[name] = "ok"
        except Exception as exc:  # every failure is reported, none is fatal here
            checks[name] = f"down: {exc.__class__.__name__}: {exc}"[:300]
            down.append(name)
    body = {"status": "down" if down else "ok", "checks": checks, "down": down}
    return JsonResponse(body, status=503 if down else 200)


@login_required
def home(request):
    return render(request, "core/home.html")


def not_found(request, exception=None):
    """404 for a path no route matches: the API's error shape under /api/ (a client
    that sends `/api/runs/not-a-uuid/` reads JSON, as for any other 404), Django's
    page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "not_found", "detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)
