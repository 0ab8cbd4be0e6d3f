"""DRF throttles that count by the client's address as `apps.core.net.client_ip` finds it
(DRF's own trust X-Forwarded-For from anyone, so a client could pick its own bucket)."""

from __future__ import annotations

from rest_framework import throttling

from apps.core.net import client_ip


class ClientScopedRateThrottle(throttling.ScopedRateThrottle):
    def get_ident(self, request) -> str:
        return client_ip(request)
