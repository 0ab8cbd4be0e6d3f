"""Reading reviewer feedback: agreement per model version, over time, and the confusion
between the model's labels and the reviewers'; rows for export."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.db.models import Count, Max, Q, QuerySet
from django.db.models.functions import TruncDay, TruncHour, TruncWeek

from apps.feedback.models import Feedback

BUCKETS = {"hour": TruncHour, "day": TruncDay, "week": TruncWeek}
NO_LABEL = "(no label)"


def feedback_filter(*, model: str | None = None, version: str | None = None,
                    server: str | None = None, since: datetime | None = None,
                    until: datetime | None = None) -> QuerySet[Feedback]:
    qs = Feedback.objects.all()
    if model:
        qs = qs.filter(model=model)
    if version:
        qs = qs.filter(model_version=version)
    if server:
        qs = qs.filter(server=server)
    if since:
        qs = qs.filter(decided_at__gte=since)
    if until:
        qs = qs.filter(decided_at__lt=until)
    return qs


def _share(kept: int, compared: int) -> float | None:
    return round(kept / compared, 4) if compared else None


def feedback_models() -> list[dict[str, Any]]:
    """Every model version reviewers decided on, with its agreement."""
    rows = (Feedback.objects.values("server", "model", "model_version")
            .annotate(decisions=Count("id"), compared=Count("id", filter=Q(kept__isnull=False)),
                      kept_count=Count("id", filter=Q(kept=True)), last=Max("decided_at"))
            .order_by("server", "model", "model_version"))
    return [{"server": r["server"], "model": r["model"], "version": r["model_version"],
             "decisions": r["decisions"], "compared": r["compared"], "kept": r["kept_count"],
             "share": _share(r["kept_count"], r["compared"]), "last_decided_at": r["last"]}
            for r in rows]


def agreement(*, queryset: QuerySet[Feedback], bucket: str = "day") -> dict[str, Any]:
    """How often reviewers kept the model's label: in all, per time bucket, and the
    confusion of model labels (rows) against reviewer labels (columns)."""
    totals = queryset.aggregate(decisions=Count("id"),
                                compared=Count("id", filter=Q(kept__isnull=False)),
                                kept=Count("id", filter=Q(kept=True)))
    trunc = BUCKETS[bucket]
    over_time = [
        {"at": r["at"], "decisions": r["decisions"], "compared": r["compared"],
         "kept": r["kept"], "share": _share(r["kept"], r["compared"])}
        for r in queryset.annotate(at=trunc("decided_at")).values("at").annotate(
            decisions=Count("id"), compared=Count("id", filter=Q(kept__isnull=False)),
            kept=Count("id", filter=Q(kept=True))).order_by("at")]
    cells = queryset.exclude(kept__isnull=True).values("model_label", "reviewer_label") \
        .annotate(n=Count("id"))
    labels = sorted({c["model_label"] or NO_LABEL for c in cells}
                    | {c["reviewer_label"] or NO_LABEL for c in cells})
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for cell in cells:
        matrix[index[cell["model_label"] or NO_LABEL]][index[cell["reviewer_label"]
                                                             or NO_LABEL]] += cell["n"]
    return {**totals, "share": _share(totals["kept"], totals["compared"]), "bucket": bucket,
            "over_time": over_time, "confusion": {"labels": labels, "counts": matrix}}


def feedback_iter(*, queryset: QuerySet[Feedback], batch: int = 1000) -> Iterator[Feedback]:
    """Rows oldest first, in keyset batches (an export of millions holds one batch)."""
    last = 0
    while True:
        rows = list(queryset.filter(pk__gt=last).order_by("pk")[:batch])
        yield from rows
        if len(rows) < batch:
            return
        last = rows[-1].pk
