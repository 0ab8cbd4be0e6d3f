"""Redaction: the one module that keeps secrets out of what is stored, logged or sent.

- `redact`: audit payloads. Secret-looking keys and values and configured personal
  fields never reach the audit table. Also turns values into plain JSON (strings,
  numbers, booleans, null, lists, objects) so that the stored payload is exactly what
  was hashed.
- `SecretScrubber`, `secret_scope`, `SecretLogFilter`: credential *values* known to be
  in use are masked wherever they appear (node outputs, errors, log lines), also in
  their encoded forms (base64, URL-encoding, JSON escapes).
- Personal data (`apps.audit.personal`): while a run's node executes, its masker is in
  flight, and audit payloads and log lines written meanwhile pass through it too."""

from __future__ import annotations

import base64
import html
import json
import logging
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote, quote_plus
from uuid import UUID

from apps.audit.personal import mask_in_flight, personal_in_flight

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
    return mask_in_flight(_walk(data, extra, 0))


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


# --- Credential values: masked wherever they appear, in every encoded form ---------------
#
# A node that uses a credential knows its secret values; everything it returns, raises or
# logs is scrubbed with a `SecretScrubber` before it is stored or sent. The engine also
# opens a `secret_scope()` around each node's execution: credential services register what
# they hand out with `secrets_in_flight_add`, the engine scrubs the node's result with the
# scope, and `SecretLogFilter` (on every log handler) scrubs log lines written meanwhile.

SECRET_MASK = "***"
# Shorter values are not masked: masking "ab" everywhere would garble every output.
MIN_SECRET_LENGTH = 4


def secret_forms(value: str) -> set[str]:
    """`value` as it may appear in data: raw, URL-encoded (both ways), JSON-escaped,
    HTML-escaped and base64 (standard and URL-safe, with and without padding)."""
    if not isinstance(value, str) or len(value) < MIN_SECRET_LENGTH:
        return set()
    raw = value.encode()
    b64 = base64.b64encode(raw).decode("ascii")
    b64url = base64.urlsafe_b64encode(raw).decode("ascii")
    forms = {value, quote(value, safe=""), quote_plus(value), quote(value),
             json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1],
             html.escape(value), b64, b64.rstrip("="), b64url, b64url.rstrip("=")}
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


class SecretScrubber:
    """Replaces every known secret (in each of its `secret_forms`) with `***` in
    strings, object keys and values at any depth. Returns copies; never mutates."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(values)

    def add(self, values: Iterable[str]) -> None:
        for value in values:
            self._forms |= secret_forms(value)
        # Longest first, so a value inside a longer form does not leave the rest behind.
        ordered = sorted(self._forms, key=lambda form: (-len(form), form))
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def text(self, value: str) -> str:
        return self._pattern.sub(SECRET_MASK, value) if self._pattern is not None else value

    def scrub(self, data: Any) -> Any:
        if self._pattern is None:
            return data
        return self._scrub(data, 0)

    def _scrub(self, value: Any, depth: int) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, bytes | bytearray):
            return self.text(bytes(value).decode("utf-8", "replace")).encode()
        if depth > 200:  # deeper than any stored document may be
            return value
        if isinstance(value, Mapping):
            return {self.text(k) if isinstance(k, str) else k: self._scrub(v, depth + 1)
                    for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self._scrub(item, depth + 1) for item in value)
        return value


_in_flight: ContextVar[SecretScrubber | None] = ContextVar("weft_secrets_in_flight",
                                                           default=None)


@contextmanager
def secret_scope() -> Iterator[SecretScrubber]:
    """Collects the secrets handed out inside the block (see `secrets_in_flight_add`);
    yields the scrubber that masks them. Log lines written inside are scrubbed too."""
    scrubber = SecretScrubber()
    token = _in_flight.set(scrubber)
    try:
        yield scrubber
    finally:
        _in_flight.reset(token)


def secrets_in_flight_add(values: Iterable[str]) -> None:
    """Registers secret values with the current `secret_scope()` (none: a no-op)."""
    scrubber = _in_flight.get()
    if scrubber is not None:
        scrubber.add(values)


def scrub_in_flight(data: Any) -> Any:
    """`data` with the secrets of the current scope masked."""
    scrubber = _in_flight.get()
    return scrubber.scrub(data) if scrubber else data


_STANDARD_RECORD_KEYS = frozenset(logging.LogRecord(
    "", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class _Both:
    """Credential values, then personal data (a log line passes through both)."""

    def __init__(self, secrets: SecretScrubber | None, personal) -> None:
        self.secrets, self.personal = secrets, personal

    def __bool__(self) -> bool:
        return True

    def text(self, value: str) -> str:
        return self.personal.text(self.secrets.text(value) if self.secrets else value)

    def scrub(self, data: Any) -> Any:
        return self.personal.mask(self.secrets.scrub(data) if self.secrets else data)


class SecretLogFilter(logging.Filter):
    """Masks the secrets in flight (see `secret_scope`) in a log record's message,
    arguments, exception text and extra fields. Put it on every handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        scrubber = _in_flight.get()
        personal = personal_in_flight()
        if personal:
            scrubber = _Both(scrubber, personal)
        if not scrubber:
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg, record.args = scrubber.text(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrubber.text(record.exc_text)
            record.exc_info = None  # formatted (and scrubbed) above
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_RECORD_KEYS:
                record.__dict__[key] = scrubber.scrub(value)
        return True
