"""One error shape for the whole API:
``{"code": "...", "detail": "...", "errors": {field: [messages]}}``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The resource changed since you read it."

    def __init__(self, detail: str | None = None, code: str | None = None, **extra: Any):
        super().__init__(detail, code)
        self.extra = extra


class NotFound(exceptions.NotFound):
    """A 404 that says what is missing (Django's Http404 becomes a bare "Not found.");
    `extra` keys (the id that was asked for) join the body."""

    def __init__(self, detail: str, code: str = "not_found", **extra: Any):
        super().__init__(detail, code)
        self.extra = extra


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = "The request body is too large."


class Unprocessable(exceptions.APIException):
    """A well-formed request the current state refuses (invalid graph, paused workflow)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"

    def __init__(self, detail: str, code: str = "invalid", status_code: int | None = None,
                 **extra: Any):
        super().__init__(detail, code)
        if status_code:
            self.status_code = status_code
        self.extra = extra


def _first_code(detail: Any) -> str:
    if isinstance(detail, list) and detail:
        return _first_code(detail[0])
    if isinstance(detail, dict) and detail:
        return _first_code(next(iter(detail.values())))
    return getattr(detail, "code", None) or "invalid"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge(f"The request body is over the limit of "
                              f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.")
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        first_field = next(iter(errors), "")
        body = {
            "code": _first_code(exc.detail),
            "detail": f"Invalid input: {first_field}." if first_field else "Invalid input.",
            "errors": errors,
        }
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        body = {"code": exc.get_codes() if isinstance(exc.get_codes(), str) else "error",
                "detail": str(detail)}
        body.update(getattr(exc, "extra", {}))
    else:  # pragma: no cover - DRF only handles APIException, Http404, PermissionDenied
        body = {"code": "error", "detail": str(exc)}
    if isinstance(exc, exceptions.ParseError):
        body["code"] = "malformed_json"
    response.data = body
    return response
