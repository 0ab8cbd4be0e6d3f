"""Reading audit filters from query parameters (console forms and the API alike)."""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils.dateparse import parse_date, parse_datetime

from apps.audit.actors import ACTOR_TYPES
from apps.audit.selectors import EventFilter

TEXT_FIELDS = ("actor", "actor_type", "action", "target_type", "target_id", "request_id",
               "run_id", "q")


def _when(raw: str) -> datetime | None:
    raw = raw.strip()
    if not raw:
        return None
    value = parse_datetime(raw)
    if value is None:
        day = parse_date(raw)
        value = datetime(day.year, day.month, day.day) if day else None
    if value is None:
        raise ValueError("Use a date and time like 2025-01-31T14:00 (UTC).")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def parse_filters(params) -> EventFilter:
    """Filters from a QueryDict; problems go to `.errors` (field -> message) and
    that filter is left out."""
    f = EventFilter(**{name: params.get(name, "").strip()[:300] for name in TEXT_FIELDS})
    if f.actor_type and f.actor_type not in ACTOR_TYPES:
        f.errors["actor_type"] = f"Unknown actor type; use one of {', '.join(ACTOR_TYPES)}."
        f.actor_type = ""
    for name in ("since", "until"):
        try:
            setattr(f, name, _when(params.get(name, "")))
        except ValueError as exc:
            f.errors[name] = str(exc)
    return f


def parse_seq(params, name: str) -> int | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise ValueError(f"'{name}' must be an event sequence number.")
    return int(raw)
