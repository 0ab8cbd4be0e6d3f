"""Synthetic call history in bulk, with SQL (generate_series): for benchmarks and
demonstrations of the model pages, never called by the product itself.

`calls` records spread evenly over the last `days` across the given model versions: a
binary classifier ("ok"/"risky") whose risky share and confidence shift in the last
`drift_hours` (from `base_risky` to `drift_risky`), latencies of a few milliseconds with
a slow tail, and a few errors.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection

_SQL = """
INSERT INTO oversight_modelcall (at, recorded_at, server, model, model_version, role,
    node_id, item, is_test, latency_ms, batch_size, label, confidence, error_type)
SELECT at, statement_timestamp() - interval '1 hour', (%(servers)s::text[])[k],
       (%(models)s::text[])[k], (%(versions)s::text[])[k], 'primary', 'classify', 0, false,
       2 + 6 * random() + CASE WHEN random() < 0.01 THEN 150 * random() ELSE 0 END, 1,
       CASE WHEN failed THEN NULL
            WHEN random() < CASE WHEN drifted THEN %(drift_risky)s ELSE %(base_risky)s END
            THEN 'risky' ELSE 'ok' END,
       CASE WHEN failed THEN NULL
            WHEN drifted THEN 0.5 + 0.5 * random() * random()
            ELSE 0.5 + 0.5 * sqrt(random()) END,
       CASE WHEN failed THEN 'timeout' ELSE '' END
FROM (SELECT now() - make_interval(secs => %(span_s)s * (g::float8 / %(calls)s)) AS at,
             1 + g %% %(n)s AS k, random() < 0.002 AS failed,
             (%(span_s)s * (g::float8 / %(calls)s)) < %(drift_s)s AS drifted
      FROM generate_series(1, %(calls)s) AS g) AS s
"""


def model_calls_generate(*, versions: Sequence[tuple[str, str, str]], calls: int,
                         days: float = 30, drift_hours: float = 24, base_risky: float = 0.3,
                         drift_risky: float = 0.3) -> None:
    """Insert `calls` records (see the module docs); `versions`: (server, model, version)."""
    with connection.cursor() as cursor:
        cursor.execute(_SQL, {
            "servers": [v[0] for v in versions], "models": [v[1] for v in versions],
            "versions": [v[2] for v in versions], "n": len(versions), "calls": calls,
            "span_s": days * 86400.0, "drift_s": drift_hours * 3600.0,
            "base_risky": base_risky, "drift_risky": drift_risky})
