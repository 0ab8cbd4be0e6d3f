"""OpenAPI schema generation (drf-spectacular).

API classes carry small nested `InputSerializer` / `OutputSerializer` classes
(HackSoft style). drf-spectacular names components after the class alone, so
every `InputSerializer` would collide; name nested serializers after their
outer class instead: `WorkflowListApi.InputSerializer` -> `WorkflowListInput`.

Every operation also documents the errors it can answer with, in the one error
shape of `apps.core.errors` (the `Error` component): 401 always, 403 unless anyone
may call it, 400 where it reads input, 404 where its path names an object or it
pages, 413/415 where it reads a body, 429 where it is throttled. An API adds the
errors particular to it (409, 423, 502...) with `error_responses(...)`.
"""

from __future__ import annotations

import uritemplate
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny


class ErrorSerializer(serializers.Serializer):
    """The body of every error answer (`apps.core.errors.exception_handler`)."""

    code = serializers.CharField(help_text="Machine-readable: `invalid`, `not_found`, ...")
    detail = serializers.CharField(help_text="What went wrong, for people.")
    errors = serializers.DictField(
        child=serializers.JSONField(), required=False,
        help_text="Invalid input: the messages per field (or node, edge).")


ERROR_DESCRIPTIONS = {
    400: "Invalid input; `errors` names each field.",
    401: "Not signed in, or the token is unknown or revoked.",
    403: "Signed in without the role this needs.",
    404: "No such object (or page).",
    409: "The object changed meanwhile, or the request conflicts with its state.",
    413: "The request body is over the size limit.",
    415: "The body is not JSON.",
    423: "Paused by an administrator (the kill switch).",
    429: "Too many requests; try again later.",
    502: "The upstream server failed the call.",
    503: "The upstream server is unavailable.",
    504: "The upstream server did not answer in time.",
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """`@extend_schema(responses={200: X, **error_responses(409)})`: errors that only
    some operations answer with, in the common error shape."""
    return {code: OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code])
            for code in codes}


def _component_name(serializer_class: type) -> str | None:
    parts = serializer_class.__qualname__.split(".")
    if len(parts) < 2:
        return None
    outer, inner = parts[-2], parts[-1]
    outer = outer.removesuffix("Api")
    inner = inner.removesuffix("Serializer")
    return f"{outer}{inner}"


class AutoSchema(SpectacularAutoSchema):
    def _error_codes(self) -> set[int]:
        """The statuses of the module docstring that apply to this operation."""
        codes = {401}
        if not all(isinstance(p, AllowAny) for p in self.view.get_permissions()):
            codes.add(403)
        has_body = (self.method in ("POST", "PUT", "PATCH")
                    and self.get_request_serializer() is not None)
        has_query = any(p["in"] == "query" for p in self._get_parameters())
        if has_body or has_query:
            codes.add(400)
        if has_body:
            codes.update((413, 415))
        if uritemplate.variables(self.path) or (
                self._is_list_view() and self._get_paginator() is not None):
            codes.add(404)
        if self.view.get_throttles():
            codes.add(429)
        return codes

    def _get_response_bodies(self, direction="response"):
        """drf-spectacular's documented answers (from `@extend_schema(responses=...)`),
        plus the common errors this operation can answer with, unless it names them."""
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code, response in error_responses(*sorted(self._error_codes())).items():
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(response, str(code),
                                                                   direction=direction)
        return responses

    def _get_serializer_name(self, serializer, direction, bypass_extensions=False):
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        serializer_class = serializer if isinstance(serializer, type) else type(serializer)
        nested = _component_name(serializer_class)
        if nested is None:
            return name
        # keep drf-spectacular's Request suffix for split request components
        return nested + ("Request" if name.endswith("Request") else "")


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """Describes `Authorization: Token <token>` (tokens from POST /api/auth/token/)."""

    target_class = "apps.accounts.authentication.BearerTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Token <token>`; get one from POST /api/auth/token/."}
