"""OpenAPI schema generation (drf-spectacular).

API classes carry small nested `InputSerializer` / `OutputSerializer` classes
(HackSoft style). drf-spectacular names components after the class alone, so
every `InputSerializer` would collide; name nested serializers after their
outer class instead: `WorkflowListApi.InputSerializer` -> `WorkflowListInput`.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema


def _component_name(serializer_class: type) -> str | None:
    parts = serializer_class.__qualname__.split(".")
    if len(parts) < 2:
        return None
    outer, inner = parts[-2], parts[-1]
    outer = outer.removesuffix("Api")
    inner = inner.removesuffix("Serializer")
    return f"{outer}{inner}"


class AutoSchema(SpectacularAutoSchema):
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
