"""Events as plain dicts, CSV rows and JSON lines, for the API and the exports."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator

from apps.audit.models import AuditEvent

FIELDS = ("seq", "at", "actor_type", "actor_id", "actor_label", "user_id", "action",
          "target_type", "target_id", "target_label", "request_id", "run_id", "data",
          "prev_hash", "hash")


def event_as_dict(event: AuditEvent) -> dict:
    out = {name: getattr(event, name) for name in FIELDS}
    out["at"] = event.at.isoformat()
    return out


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    value = str(value)
    # Spreadsheets run cells that start like a formula; keep them text.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def csv_lines(events: Iterable[AuditEvent]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(FIELDS)
    for event in events:
        row = event_as_dict(event)
        writer.writerow([_cell(row[name]) for name in FIELDS])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def jsonl_lines(events: Iterable[AuditEvent]) -> Iterator[str]:
    chunk: list[str] = []
    for event in events:
        chunk.append(json.dumps(event_as_dict(event), ensure_ascii=False) + "\n")
        if len(chunk) >= 500:
            yield "".join(chunk)
            chunk = []
    yield "".join(chunk)
