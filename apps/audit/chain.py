"""The hash chain, free of Django: each event's hash is
sha256(previous hash + canonical JSON of its content)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64

# The hashed content, in this order. Changing it invalidates every stored chain.
CONTENT_FIELDS = (
    "seq", "at", "actor_type", "actor_id", "actor_label", "user_id", "action",
    "target_type", "target_id", "target_label", "request_id", "run_id", "data",
)


def canonical_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def content_of(row: dict[str, Any] | tuple) -> list[Any]:
    """The hashed content of an event given as a dict of fields, or as a tuple in
    CONTENT_FIELDS order (how the verifier reads rows)."""
    values = list(row) if isinstance(row, tuple) else [row[name] for name in CONTENT_FIELDS]
    values[1] = canonical_time(values[1])
    return values


def event_hash(prev_hash: str, content: list[Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(content)).encode()).hexdigest()
