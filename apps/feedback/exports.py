"""Feedback export: per model version and time range, as JSONL or CSV, streamed a batch
at a time. Personal data is masked (the workflow's paths and detectors, and the values
found at its paths when the row was copied) unless the exporting admin asks for it;
every export is audited, saying whether it held personal data."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from enum import StrEnum
from typing import Any

from apps.audit.personal import PersonalMasker
from apps.audit.services import audit_record
from apps.feedback.models import Feedback
from apps.feedback.selectors import feedback_iter
from apps.privacy.selectors import policy_get


class ExportFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


CONTENT_TYPES = {ExportFormat.JSONL: "application/x-ndjson",
                 ExportFormat.CSV: "text/csv; charset=utf-8"}
COLUMNS = ("task_id", "run_id", "workflow_id", "workflow_name", "server", "model",
           "model_version", "inputs", "output", "model_label", "confidence", "decision",
           "reviewer", "reviewer_label", "kept", "corrected", "form", "comment",
           "predicted_at", "decided_at")
PERSONAL_FIELDS = ("inputs", "output", "corrected", "form", "comment", "reviewer_label")


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def feedback_document(row: Feedback, *, personal: bool) -> dict[str, Any]:
    """One exported row; with personal data masked unless `personal`."""
    doc = {"task_id": str(row.task_id), "run_id": str(row.run_id),
           "workflow_id": str(row.workflow_id), "workflow_name": row.workflow_name,
           "server": row.server, "model": row.model, "model_version": row.model_version,
           "inputs": row.inputs, "output": row.output, "model_label": row.model_label,
           "confidence": row.confidence, "decision": row.decision, "reviewer": row.reviewer,
           "reviewer_label": row.reviewer_label, "kept": row.kept,
           "corrected": row.corrected, "form": row.form, "comment": row.comment,
           "predicted_at": _iso(row.predicted_at), "decided_at": _iso(row.decided_at)}
    if personal:
        return doc
    masker = PersonalMasker(policy_get(workflow_id=row.workflow_id), row.personal_values)
    if masker:
        for field in PERSONAL_FIELDS:
            doc[field] = masker.mask(doc[field])
    return doc


def _csv_line(values: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return "" if value is None else value


def feedback_export_lines(*, queryset, fmt: ExportFormat, personal: bool) -> Iterator[str]:
    if fmt == ExportFormat.CSV:
        yield _csv_line(list(COLUMNS))
    for row in feedback_iter(queryset=queryset):
        doc = feedback_document(row, personal=personal)
        if fmt == ExportFormat.CSV:
            yield _csv_line([_cell(doc[c]) for c in COLUMNS])
        else:
            yield json.dumps(doc, ensure_ascii=False) + "\n"


def feedback_export(*, queryset, fmt: ExportFormat, personal: bool, actor, request,
                    filters: dict[str, Any]) -> Iterator[str]:
    """The export's lines; audited before the first line is sent."""
    audit_record(action="feedback.export", actor=actor, request=request,
                 data={"format": fmt.value, "personal_data": personal,
                       **{k: str(v) for k, v in filters.items() if v not in (None, "")}})
    return feedback_export_lines(queryset=queryset, fmt=fmt, personal=personal)
