"""Redaction of audit payloads: secrets and configured personal fields never
reach the audit table. Also turns values into plain JSON (strings, numbers,
booleans, null, lists, objects) so that the stored payload is exactly what was hashed."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

REDACTED = "[redacted]"

# Matched against the key, lower-cased with '-' and ' ' turned into '_'.
SECRET_KEY_PATTERN = re.compile(
    r"(pass(word|wd|phrase)?$|^pwd$|secret|(^|_)token$|^authorization$|api_?key|"
    r"private_?key|access_?key|^cookie$|^set_cookie$|^session(_?id)?$|"
    r"^credentials?$|^credential_values?$|^secret_values?$|signature$)"
)
# Values that are secrets whatever their key: Weft API tokens, bearer headers, PEM keys.
SECRET_VALUE_PATTERN = re.compile(
    r"(weft_[A-Za-z0-9_-]{20,}|^(bearer|token|basic)\s+\S{8,}|-----BEGIN [A-Z ]*PRIVATE KEY)",
    re.IGNORECASE,
)
MAX_DEPTH = 20
MAX_STRING = 10_000


def _normal(key: str) -> str:
    return key.strip().lower().replace("-", "_").replace(" ", "_")


def is_secret_key(key: str, extra: Iterable[str] = ()) -> bool:
    normal = _normal(key)
    return bool(SECRET_KEY_PATTERN.search(normal)) or normal in {_normal(e) for e in extra}


def redact(data: Any, extra_fields: Iterable[str] = ()) -> Any:
    """A JSON-safe copy of `data` with secret and configured fields replaced by
    "[redacted]". Keys named in `extra_fields` (WEFT_AUDIT_REDACT_FIELDS) match exactly."""
    extra = frozenset(_normal(e) for e in extra_fields)
    return _walk(data, extra, 0)


def _walk(value: Any, extra: frozenset[str], depth: int) -> Any:
    if depth > MAX_DEPTH:
        return "[too deep]"
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        # PostgreSQL's jsonb prints 1e16 as 10000000000000000; store what it gives back.
        return int(value) if value.is_integer() and abs(value) >= 1e16 else value
    if isinstance(value, str):
        if SECRET_VALUE_PATTERN.search(value):
            return REDACTED
        value = value.replace("\x00", "")
        return value if len(value) <= MAX_STRING else value[:MAX_STRING] + "…[truncated]"
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            key = str(key).replace("\x00", "")
            normal = _normal(key)
            if SECRET_KEY_PATTERN.search(normal) or normal in extra:
                out[key] = REDACTED if item not in (None, "") else item
            else:
                out[key] = _walk(item, extra, depth + 1)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [_walk(item, extra, depth + 1) for item in items]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, UUID):
        return str(value)
    return _walk(str(value), extra, depth + 1)
