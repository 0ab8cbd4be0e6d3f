"""The request being served, so that a service deep below an API view can
record who acted (session user or API token) without the request being passed down."""

from __future__ import annotations

import contextvars

current_request_var: contextvars.ContextVar = contextvars.ContextVar("audit_request",
                                                                     default=None)


class AuditContextMiddleware:
    """Exposes the current request to apps.audit.services.audit_record.
    Goes after AuthenticationMiddleware; DRF's token authentication later sets
    `request.user` and `request.auth` on the same Django request object."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = current_request_var.set(request)
        try:
            return self.get_response(request)
        finally:
            current_request_var.reset(token)
