"""The hourly aggregates, rolled up on a schedule (no row is updated per call, so no
hot row per model and hour): each roll-up reads the call records written since the
last one (by id, up to rows settings.WEFT_MODEL_ROLLUP_SETTLE_S old, so that a write still in flight is never
skipped), groups them per model version and hour in PostgreSQL, and adds the sums to
`ModelHour`. One roll-up at a time (an advisory lock); test calls are left out.
Retention deletes call records older than settings.WEFT_MODEL_CALL_RETENTION_DAYS in
keyset batches (aggregates stay).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction

from apps.oversight.buckets import (
    CONFIDENCE_BINS,
    LATENCY_BUCKETS,
    confidence_bin_sql,
    latency_bucket_sql,
)
from apps.oversight.models import ModelCall, ModelVersion, RollupMark
from apps.runs.rows import db_now

BATCH_IDS = 2_000_000
LOCK_KEY = 0x6D6F64656C  # "model"
MARK = "model_hour"

_K = "server, model, model_version, hour"
_USING = f"USING ({_K})"
_LAT = ", ".join(f"count(*) FILTER (WHERE lb = {i})" for i in range(LATENCY_BUCKETS))
_CONF = ", ".join(f"count(*) FILTER (WHERE cb = {i})" for i in range(CONFIDENCE_BINS))
ROLLUP_SQL = f"""
WITH c AS MATERIALIZED (
    SELECT server, model, model_version, date_trunc('hour', at) AS hour, latency_ms,
           {latency_bucket_sql()} AS lb,
           CASE WHEN confidence IS NULL THEN NULL ELSE {confidence_bin_sql()} END AS cb,
           label, error_type
    FROM oversight_modelcall WHERE id > %(low)s AND id <= %(high)s AND NOT is_test),
t AS (SELECT {_K}, count(*) AS calls, count(*) FILTER (WHERE error_type <> '') AS errors,
             COALESCE(sum(latency_ms), 0) AS latency_sum_ms,
             ARRAY[{_LAT}] AS lat, ARRAY[{_CONF}] AS conf
      FROM c GROUP BY 1, 2, 3, 4),
lab AS (SELECT {_K}, jsonb_object_agg(label, n) AS labels
        FROM (SELECT {_K}, label, count(*) AS n FROM c WHERE label IS NOT NULL
              GROUP BY 1, 2, 3, 4, 5) AS per_label GROUP BY 1, 2, 3, 4),
up AS (
    INSERT INTO oversight_modelhour AS h ({_K}, calls, errors, latency_sum_ms, latency_hist,
                                          confidence_hist, labels)
    SELECT {_K}, t.calls, t.errors, t.latency_sum_ms, t.lat, t.conf,
           COALESCE(lab.labels, '{{}}'::jsonb)
    FROM t LEFT JOIN lab {_USING}
    ON CONFLICT (server, model, model_version, hour) DO UPDATE SET
        calls = h.calls + EXCLUDED.calls,
        errors = h.errors + EXCLUDED.errors,
        latency_sum_ms = h.latency_sum_ms + EXCLUDED.latency_sum_ms,
        latency_hist = ARRAY(SELECT COALESCE(a, 0) + COALESCE(b, 0) FROM unnest(
            h.latency_hist, EXCLUDED.latency_hist) WITH ORDINALITY AS x(a, b, i) ORDER BY i),
        confidence_hist = ARRAY(SELECT COALESCE(a, 0) + COALESCE(b, 0) FROM unnest(
            h.confidence_hist, EXCLUDED.confidence_hist) WITH ORDINALITY AS x(a, b, i)
            ORDER BY i),
        labels = COALESCE((SELECT jsonb_object_agg(k, COALESCE((h.labels ->> k)::bigint, 0)
                                  + COALESCE((EXCLUDED.labels ->> k)::bigint, 0))
                           FROM (SELECT jsonb_object_keys(h.labels)
                                 UNION SELECT jsonb_object_keys(EXCLUDED.labels)) AS keys(k)),
                          '{{}}'::jsonb)
    RETURNING {_K})
INSERT INTO oversight_modelversion AS v (server, model, model_version, first_seen_at,
                                         psi_threshold, kl_threshold, drift)
SELECT server, model, model_version, min(hour), %(psi)s, %(kl)s, '{{}}'::jsonb
FROM up GROUP BY 1, 2, 3
ON CONFLICT (server, model, model_version) DO UPDATE
    SET first_seen_at = LEAST(v.first_seen_at, EXCLUDED.first_seen_at)
"""


def _upper_id(last_id: int) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT max(id) FROM (SELECT id, recorded_at FROM oversight_modelcall WHERE id > %s "
            "ORDER BY id LIMIT %s) AS batch WHERE recorded_at <= statement_timestamp() - "
            "make_interval(secs => %s)",
            [last_id, BATCH_IDS, settings.WEFT_MODEL_ROLLUP_SETTLE_S])
        return cursor.fetchone()[0]


def _rollup_range(low: int, high: int) -> None:
    """One statement: group the records in (low, high], add them to the hourly rows
    (arrays and label counts element by element), note the versions seen."""
    fields = {f.name: f.default for f in ModelVersion._meta.fields}
    with connection.cursor() as cursor:
        cursor.execute(ROLLUP_SQL, {"low": low, "high": high, "psi": fields["psi_threshold"],
                                    "kl": fields["kl_threshold"]})


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
            _rollup_range(mark.last_id, high)
            read += high - mark.last_id
            mark.last_id = high
            mark.save(update_fields=["last_id", "updated_at"])


def model_calls_retention(*, batch: int = 10_000) -> int:
    """Delete call records past the retention period, oldest first, in keyset batches."""
    days = getattr(settings, "WEFT_MODEL_CALL_RETENTION_DAYS", 30)
    cutoff = db_now() - timedelta(days=days)  # PostgreSQL's clock, not this worker's
    mark = RollupMark.objects.filter(name=MARK).values_list("last_id", flat=True).first() or 0
    deleted = 0
    while True:
        ids = list(ModelCall.objects.filter(at__lt=cutoff, id__lte=mark).order_by("id")
                   .values_list("id", flat=True)[:batch])
        if not ids:
            return deleted
        deleted += ModelCall.objects.filter(id__gte=ids[0], id__lte=ids[-1],
                                            at__lt=cutoff).delete()[0]
