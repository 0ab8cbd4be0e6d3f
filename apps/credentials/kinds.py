"""The shape of each credential kind's secret, checked on create and update."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")


class _Secret(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BearerSecret(_Secret):
    token: str = Field(min_length=1, max_length=8192)


class BasicSecret(_Secret):
    username: str = Field(min_length=1, max_length=500)
    password: str = Field(max_length=8192)


class ApiKeySecret(_Secret):
    header: str = Field("X-API-Key", pattern=HEADER_NAME.pattern)
    value: str = Field(min_length=1, max_length=8192)
    # Set to send the key as this query parameter instead of the header.
    query_param: str = Field("", pattern=r"^[A-Za-z0-9_.~-]{0,100}$")


class GenericSecret(_Secret):
    model_config = ConfigDict(extra="allow")


SCHEMAS: dict[str, type[_Secret]] = {
    "bearer": BearerSecret,
    "basic": BasicSecret,
    "api_key": ApiKeySecret,
    "secret": GenericSecret,
}

MAX_GENERIC_KEYS = 50


def validate_secret(kind: str, secret: Any) -> dict[str, Any]:
    """The cleaned secret, or ValueError with {field: [messages]} (messages never echo values)."""
    if not isinstance(secret, dict):
        raise ValueError({"secret": ["Must be an object."]})
    if kind == "secret":
        if not secret or len(secret) > MAX_GENERIC_KEYS or not all(
                isinstance(k, str) and 0 < len(k) <= 100 and isinstance(v, str) and len(v) <= 8192
                for k, v in secret.items()):
            raise ValueError({"secret": [f"Give 1 to {MAX_GENERIC_KEYS} string values by name."]})
        return dict(secret)
    try:
        return SCHEMAS[kind].model_validate(secret).model_dump()
    except ValidationError as exc:
        errors: dict[str, list[str]] = {}
        for err in exc.errors():
            field = "secret." + ".".join(str(p) for p in err["loc"]) if err["loc"] else "secret"
            errors.setdefault(field, []).append(err["msg"])
        raise ValueError(errors) from None


def secret_values(kind: str, secret: dict[str, Any]) -> list[str]:
    """The values of a secret that must never be seen again, in the forms the HTTP
    node sends them (for Basic auth also `user:password`, whose base64 goes on the wire).
    Header and parameter names and the Basic-auth user name are not secrets."""
    if kind == "bearer":
        return [secret["token"]]
    if kind == "basic":
        return [secret["password"], f"{secret['username']}:{secret['password']}"]
    if kind == "api_key":
        return [secret["value"]]
    return [str(value) for value in secret.values()]
