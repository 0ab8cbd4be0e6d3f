"""The hourly aggregates, rolled up on a schedule (no row is updated per call, so no
hot row per model and hour): each roll-up reads the call records written since the
last one (by id, up to rows settings.WEFT_MODEL_ROLLUP_SETTLE_S old, so that a write still in flight is never
skipped), groups them per model version and hour in PostgreSQL, and adds the sums to
`ModelHour`. One roll-up at a time (an advisory lock); test calls are left out.
Retention deletes call records older than settings.WEFT_MODEL_CALL_RETENTION_DAYS in
keyset batches (aggregates stay).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.oversight.buckets import (
    CONFIDENCE_BINS,
    LATENCY_BUCKETS,
    confidence_bin_sql,
    counts_add,
    hist_add,
    latency_bucket_sql,
)
from apps.oversight.models import ModelCall, ModelHour, ModelVersion, RollupMark

BATCH_IDS = 2_000_000
LOCK_KEY = 0x6D6F64656C  # "model"
MARK = "model_hour"

Key = tuple[str, str, str, Any]  # server, model, version, hour

_KEY = "server, model, model_version, date_trunc('hour', at)"
_RANGE = "FROM oversight_modelcall WHERE id > %s AND id <= %s AND NOT is_test"
QUERIES = {
    "totals": f"SELECT {_KEY}, count(*), count(*) FILTER (WHERE error_type <> ''), "
              f"COALESCE(sum(latency_ms), 0) {_RANGE} GROUP BY 1, 2, 3, 4",
    "latency": f"SELECT {_KEY}, {latency_bucket_sql()}, count(*) {_RANGE} "
               f"GROUP BY 1, 2, 3, 4, 5",
    "confidence": f"SELECT {_KEY}, {confidence_bin_sql()}, count(*) {_RANGE} "
                  f"AND confidence IS NOT NULL GROUP BY 1, 2, 3, 4, 5",
    "labels": f"SELECT {_KEY}, label, count(*) {_RANGE} AND label IS NOT NULL "
              f"GROUP BY 1, 2, 3, 4, 5",
}


def _upper_id(last_id: int) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT max(id) FROM (SELECT id, recorded_at FROM oversight_modelcall WHERE id > %s "
            "ORDER BY id LIMIT %s) AS batch WHERE recorded_at <= statement_timestamp() - make_interval(secs => %s)",
            [last_id, BATCH_IDS, settings.WEFT_MODEL_ROLLUP_SETTLE_S])
        return cursor.fetchone()[0]


def _grouped(low: int, high: int) -> dict[Key, dict[str, Any]]:
    sums: dict[Key, dict[str, Any]] = defaultdict(lambda: {
        "calls": 0, "errors": 0, "latency_sum_ms": 0.0, "latency_hist": [0] * LATENCY_BUCKETS,
        "confidence_hist": [0] * CONFIDENCE_BINS, "labels": {}})
    with connection.cursor() as cursor:
        cursor.execute(QUERIES["totals"], [low, high])
        for server, model, version, hour, calls, errors, latency in cursor.fetchall():
            entry = sums[(server, model, version, hour)]
            entry.update(calls=calls, errors=errors, latency_sum_ms=float(latency))
        for name, field in (("latency", "latency_hist"), ("confidence", "confidence_hist")):
            cursor.execute(QUERIES[name], [low, high])
            for server, model, version, hour, bucket, count in cursor.fetchall():
                sums[(server, model, version, hour)][field][bucket] += count
        cursor.execute(QUERIES["labels"], [low, high])
        for server, model, version, hour, label, count in cursor.fetchall():
            sums[(server, model, version, hour)]["labels"][label] = count
    return sums


def _merge(sums: dict[Key, dict[str, Any]]) -> None:
    by_version: dict[tuple[str, str, str], list[Any]] = defaultdict(list)
    for server, model, version, hour in sums:
        by_version[(server, model, version)].append(hour)
    rows = []
    for (server, model, version), hours in by_version.items():
        existing = {row.hour: row for row in ModelHour.objects.filter(
            server=server, model=model, model_version=version, hour__in=hours)}
        for hour in hours:
            new = sums[(server, model, version, hour)]
            row = existing.get(hour) or ModelHour(server=server, model=model,
                                                  model_version=version, hour=hour)
            row.calls += new["calls"]
            row.errors += new["errors"]
            row.latency_sum_ms += new["latency_sum_ms"]
            row.latency_hist = hist_add(row.latency_hist, new["latency_hist"], LATENCY_BUCKETS)
            row.confidence_hist = hist_add(row.confidence_hist, new["confidence_hist"],
                                           CONFIDENCE_BINS)
            row.labels = counts_add(row.labels, new["labels"])
            rows.append(row)
        first = min(hours)
        version_row, created = ModelVersion.objects.get_or_create(
            server=server, model=model, model_version=version,
            defaults={"first_seen_at": first})
        if not created and first < version_row.first_seen_at:
            ModelVersion.objects.filter(pk=version_row.pk).update(first_seen_at=first)
    ModelHour.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["server", "model", "model_version", "hour"],
        update_fields=["calls", "errors", "latency_sum_ms", "latency_hist", "confidence_hist",
                       "labels"])


def model_hours_rollup() -> int:
    """Add the calls recorded since the last roll-up to the hourly aggregates; returns
    how many call records it read (0 when another roll-up holds the lock)."""
    read = 0
    while True:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK_KEY])
                if not cursor.fetchone()[0]:
                    return read
            mark, _ = RollupMark.objects.select_for_update().get_or_create(name=MARK)
            high = _upper_id(mark.last_id)
            if high is None:
                return read
            _merge(_grouped(mark.last_id, high))
            read += high - mark.last_id
            mark.last_id = high
            mark.save(update_fields=["last_id", "updated_at"])


def model_calls_retention(*, batch: int = 10_000) -> int:
    """Delete call records past the retention period, oldest first, in keyset batches."""
    days = getattr(settings, "WEFT_MODEL_CALL_RETENTION_DAYS", 30)
    cutoff = timezone.now() - timedelta(days=days)
    mark = RollupMark.objects.filter(name=MARK).values_list("last_id", flat=True).first() or 0
    deleted = 0
    while True:
        ids = list(ModelCall.objects.filter(at__lt=cutoff, id__lte=mark).order_by("id")
                   .values_list("id", flat=True)[:batch])
        if not ids:
            return deleted
        deleted += ModelCall.objects.filter(id__gte=ids[0], id__lte=ids[-1],
                                            at__lt=cutoff).delete()[0]
