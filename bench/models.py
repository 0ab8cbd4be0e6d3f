"""Model oversight benchmark: prints figures, never fails on time.

    .venv/bin/python bench/models.py                       # 10,000,000 recorded calls
    .venv/bin/python bench/models.py --calls 1000000       # smaller
    .venv/bin/python bench/models.py --skip-overhead       # no Triton server

Runs in its own database (weft_bench_models on the embedded PostgreSQL), dropped at the
end unless --keep. Measures:
  1. the recording overhead per inference call: the `inference.triton` node's execute()
     against the demo Triton server (ticket_urgency, one item), with and without the
     recorder, interleaved in the same process, p50 and p99; and the recorder alone;
  2. the model pages' queries over --calls records made with SQL (generate_series) across
     --versions model versions over --days days, the last 24 hours drifted: the fill, the
     roll-up into hourly aggregates, then each query p50/p99 over --repeat runs;
  3. the drift computation: one version, and the scheduled check of every version.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402

DATABASE = "weft_bench_models"


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    values = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        values.append((time.perf_counter() - started) * 1000)
    return statistics.median(values), harness.pct(values, 0.99)


def overhead(calls: int) -> None:
    from apps.expressions.services import expression_evaluate
    from apps.inference.client import shared_client
    from apps.inference.launcher import TritonProcess
    from apps.inference.nodes import TritonInference, TritonInferenceConfig
    from apps.nodes.base import NodeContext
    from apps.oversight import recording

    with TritonProcess.start() as triton:
        connection = triton.connection("http")
        node = TritonInference()
        config = TritonInferenceConfig(server="bench", model="ticket_urgency",
                                       inputs={"text": "input.text"})
        base = {"triton": {"bench": connection}, "expressions": expression_evaluate}

        def context(services):
            return NodeContext(run_id="00000000-0000-4000-8000-000000000001", node_id="classify",
                               attempt=1, inputs={"in": {"text": "Production is down"}},
                               services=services)

        plain = context(base)
        recorded = context({**base, "model_calls": recording.model_calls_record})
        for _ in range(50):  # warm up: connections, the model's metadata
            node.execute(plain, config)
            node.execute(recorded, config)
        without, with_ = [], []
        for _ in range(calls):  # interleaved, so that load on the machine hits both alike
            for ctx, into in ((plain, without), (recorded, with_)):
                started = time.perf_counter()
                node.execute(ctx, config)
                into.append((time.perf_counter() - started) * 1000)
        result = shared_client(connection, timeout_s=10).infer("ticket_urgency",
                                                               {"text": "Production is down"})
    p50_without, p50_with = statistics.median(without), statistics.median(with_)
    print(f"1. node execute(), ticket_urgency over HTTP, {calls} calls each, interleaved:")
    print(f"   without recording p50 {p50_without:.3f} ms  p99 {harness.pct(without, 0.99):.3f} ms")
    print(f"   with recording    p50 {p50_with:.3f} ms  p99 {harness.pct(with_, 0.99):.3f} ms")
    print(f"   difference of the p50s {p50_with - p50_without:+.3f} ms (noise of a 2-core machine "
          "included)")
    n = 100_000
    started = time.perf_counter()
    for _ in range(n):
        recording.model_calls_record(server="bench", model=result.model, version=result.version,
                                     latency_ms=result.latency_ms, predictions=result.predictions,
                                     run_id="00000000-0000-4000-8000-000000000001",
                                     node_id="classify")
    alone = (time.perf_counter() - started) / n * 1e6
    print(f"   the recorder alone (buffering one call of one item): {alone:.1f} us per call; "
          f"written by its thread so far: {recording.stats['written']:,} rows, "
          f"dropped {recording.stats['dropped']:,}")


def pages(calls: int, versions: int, days: float, repeat: int) -> None:
    from django.db import connection

    from apps.oversight import alerts, selectors
    from apps.oversight.models import AlertRule, ModelVersion
    from apps.oversight.rollup import model_hours_rollup
    from apps.oversight.synthetic import model_calls_generate

    names = [("local", f"model_{i:02d}", "1") for i in range(versions)]
    started = time.perf_counter()
    model_calls_generate(versions=names, calls=calls, days=days, drift_risky=0.7)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE oversight_modelcall")
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('oversight_modelcall'))")
        size = cursor.fetchone()[0]
    print(f"2. {calls:,} call records over {days:g} days, {versions} model versions, made in "
          f"{time.perf_counter() - started:.1f} s ({size} with indexes)")
    started = time.perf_counter()
    model_hours_rollup()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE oversight_modelhour")
        cursor.execute("SELECT count(*) FROM oversight_modelhour")
        hours = cursor.fetchone()[0]
    print(f"   roll-up of all of them into {hours:,} hourly rows: "
          f"{time.perf_counter() - started:.1f} s (on a schedule it reads what arrived since "
          "the last one)")
    version = ModelVersion.objects.get(model="model_00")
    for i, v in enumerate(ModelVersion.objects.all()):
        AlertRule.objects.create(version=v, name=f"p99 {i}", kind="latency_p99", threshold=1e9)
        AlertRule.objects.create(version=v, name=f"drift {i}", kind="drift", threshold=1e9)
    queries = {
        "models list (every version, last 24 h, drift badge)":
            lambda: selectors.model_versions_list(),
        "version page: 24 h figures, reference window, usage, rules": lambda: (
            selectors.model_version_drift_windows(version=version),
            selectors.model_version_usage(version=version),
            list(selectors.alert_rules_for(version=version))),
        "version charts API: 7 days of hours + histograms + shadows": lambda: (
            selectors.model_version_series(version=version, hours=168),
            selectors.model_version_drift_windows(version=version),
            selectors.shadow_compare(version=version)),
        "alert list": lambda: list(selectors.alerts_list()),
    }
    print(f"   model page queries, {repeat} runs each (p50 / p99 ms; target < 200):")
    for name, fn in queries.items():
        p50, p99 = timed(fn, repeat)
        print(f"     {name}: {p50:.1f} / {p99:.1f}")
    p50, p99 = timed(lambda: selectors.model_version_drift(version=version), repeat)
    print(f"3. drift of one version (PSI and KL, confidence and labels, 24 h vs its first 7 days):"
          f" {p50:.1f} / {p99:.1f} ms")
    started = time.perf_counter()
    fired = alerts.model_versions_check()
    print(f"   the scheduled check of all {versions} versions (drift stored, "
          f"{2 * versions} rules evaluated, {fired} fired): "
          f"{(time.perf_counter() - started) * 1000:.0f} ms")
    version.refresh_from_db()
    print(f"   model_00's drift: {version.drift}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=10_000_000)
    parser.add_argument("--versions", type=int, default=20)
    parser.add_argument("--days", type=float, default=90)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--overhead-calls", type=int, default=1000)
    parser.add_argument("--skip-overhead", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    harness.django_setup(database=DATABASE)
    try:
        if not args.skip_overhead:
            overhead(args.overhead_calls)
        pages(args.calls, args.versions, args.days, args.repeat)
    finally:
        if not args.keep:
            harness.drop_database()


if __name__ == "__main__":
    main()
