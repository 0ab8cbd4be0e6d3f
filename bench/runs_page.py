"""Runs page and retention benchmark: prints figures, never fails on time.

    .venv/bin/python bench/runs_page.py                   # 1,000,000 runs
    .venv/bin/python bench/runs_page.py --runs 200000     # smaller

Runs in its own database (weft_bench_runs on the embedded PostgreSQL), dropped at the
end unless --keep. Rows are made with SQL (generate_series): runs over 60 days across 20
workflows (one in ten failed), each with an order id and an e-mail in its input (and
their search terms), and two node runs. Measures, as GET /api/runs/ runs them (selector
and row shaping, no HTTP):
  1. a payload search (an order id, an e-mail) -> its first page, p50/p99;
  2. a filtered first page (a workflow, failed), and a deep page by cursor, p50/p99;
  3. the in-process webhook (webhook_handle: webhook -> set -> respond) p99 alone, then
     while the retention job deletes every one of those runs in batches beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402

WORKFLOWS = 20


def _fill(runs: int) -> list:
    from django.db import connection

    from apps.runs.search import payload_terms

    flows = [harness.publish(f"bench runs {i}", harness.flow(
        ("start", "trigger.manual"), ("set", "data.set", {"fields": [
            {"name": "ok", "value": "true"}]}), edges=[("start", "set")]))
        for i in range(WORKFLOWS)]
    versions = [w.versions.get().pk for w in flows]
    assert payload_terms({"order": "A-1", "email": "u1@example.com"}) == [
        "a-1", "u1@example.com"]  # what the SQL below writes
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX IF EXISTS run_search_terms")
        cursor.execute("""
            INSERT INTO runs_run (id, workflow_id, version_id, trigger, input, status,
                created_at, started_at, finished_at, error, trace_id, vars, search_terms,
                trigger_ref, mode)
            SELECT gen_random_uuid(), (%(wf)s::uuid[])[1 + i %% %(n)s],
                   (%(ver)s::bigint[])[1 + i %% %(n)s], 'webhook',
                   jsonb_build_object('order', 'A-' || i, 'email', 'u' || i || '@example.com'),
                   CASE WHEN (i / %(n)s) %% 10 = 0 THEN 'failed' ELSE 'succeeded' END,
                   t, t, t + interval '40 ms',
                   CASE WHEN (i / %(n)s) %% 10 = 0
                        THEN '{"type": "x", "message": "boom"}'::jsonb END,
                   md5(i::text), '{}'::jsonb,
                   ARRAY['a-' || i, 'u' || i || '@example.com'], '', 'production'
            FROM (SELECT i, now() - interval '60 days' * (i::float / %(runs)s) AS t
                  FROM generate_series(1, %(runs)s) AS i) AS s""",
                       {"wf": [str(w.pk) for w in flows], "ver": versions, "n": WORKFLOWS,
                        "runs": runs})
        cursor.execute("""
            INSERT INTO runs_noderun (run_id, node_id, node_type, attempt, status, inputs,
                outputs, created_at, started_at, finished_at, delivery_count, worker)
            SELECT r.id, n.node_id, n.node_type, 1, 'succeeded', '{}'::jsonb,
                   '{"out": {"ok": true}}'::jsonb, r.created_at, r.created_at,
                   r.finished_at, 0, ''
            FROM runs_run r CROSS JOIN (VALUES ('start', 'trigger.manual'),
                                               ('set', 'data.set')) AS n(node_id, node_type)""")
        cursor.execute("CREATE INDEX run_search_terms ON runs_run USING gin (search_terms)")
        cursor.execute("ANALYZE runs_run")
        cursor.execute("ANALYZE runs_noderun")
    print(f"filled {runs:,} runs and {2 * runs:,} node runs in "
          f"{time.perf_counter() - started:.0f} s")
    return flows


def _timed(fn, samples: int) -> list[float]:
    out = []
    for i in range(samples):
        started = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - started)
    return out


def _line(name: str, times: list[float]) -> None:
    print(f"{name:<44} p50 {harness.pct(times, 0.5) * 1000:8.2f} ms   "
          f"p99 {harness.pct(times, 0.99) * 1000:8.2f} ms   ({len(times)} samples)")


def bench_pages(runs: int, flows: list, samples: int) -> None:
    from apps.runs import search

    def first_page(**filters):
        page = search.run_page(search.run_filter(**filters))
        return [search.run_row(r) for r in page.rows], page

    print(f"\n== The runs page over {runs:,} runs (selector + row shaping, first page of "
          f"{search.PAGE_SIZE})")
    rng = random.Random(7)
    _line("search: an order id", _timed(
        lambda i: first_page(q=f"A-{rng.randint(1, runs)}"), samples))
    _line("search: an e-mail", _timed(
        lambda i: first_page(q=f"u{rng.randint(1, runs)}@example.com"), samples))
    _line("search: nothing matches", _timed(lambda i: first_page(q=f"zz-{i}"), samples))
    _line("no filter", _timed(lambda i: first_page(), samples))
    _line("filter: one workflow, failed", _timed(
        lambda i: first_page(workflow=flows[i % WORKFLOWS].pk, status="failed"), samples))
    _line("filter: failed, last 7 days", _timed(
        lambda i: first_page(status="failed", created_after=_days_ago(7)), samples))
    cursors = []
    page = search.run_page(search.run_filter(), limit=200)
    for _ in range(50):  # 10,000 runs deep
        cursors.append(page.next_cursor)
        page = search.run_page(search.run_filter(), cursor=page.next_cursor, limit=200)
    _line("a page 10,000 runs deep (cursor)", _timed(
        lambda i: search.run_page(search.run_filter(), cursor=page.next_cursor), samples))


def _days_ago(days: int):
    from datetime import timedelta

    from django.utils import timezone

    return timezone.now() - timedelta(days=days)


_HOOK: dict = {}


def _webhook(samples: int, stop: threading.Event | None = None) -> list[float]:
    import json

    from apps.runs.triggers import webhook_handle, workflow_runtime_get

    if "runtime" not in _HOOK:
        _HOOK["runtime"] = workflow_runtime_get(workflow=harness.publish(
            "bench runs webhook", harness.flow(
                ("hook", "trigger.webhook", {"mode": "respond"}),
                ("set", "data.set", {"keep_input": True,
                                     "fields": [{"name": "seen", "value": "true"}]}),
                ("respond", "flow.respond", {"status": 200}),
                edges=[("hook", "set"), ("set", "respond")])))
    runtime = _HOOK["runtime"]
    times: list[float] = []
    for i in range(samples + 20):
        if stop is not None and stop.is_set() and len(times) >= 50:
            break
        body = json.dumps({"order": f"W-{i}", "r": time.perf_counter_ns()}).encode()
        started = time.perf_counter()
        status, _, _ = webhook_handle(secret=runtime.webhook_secret, body=body, headers={})
        if i >= 20:
            times.append(time.perf_counter() - started)
        assert status == 200, status
    return times


def bench_retention(runs: int, samples: int) -> None:
    from apps.runs.models import Run

    print(f"\n== Retention deleting {runs:,} runs (+ {2 * runs:,} node runs) beside the "
          "webhook (in-process webhook_handle; the job in a process of its own)")
    before = _webhook(samples)
    _line("webhook alone", before)
    # The job in its own process, as the worker runs it (not a thread of this one, which
    # would share its interpreter lock with the webhook being measured).
    code = ("import django, json, time; django.setup(); "
            "from apps.runs.retention import runs_retention_sweep; t = time.perf_counter(); "
            "r = runs_retention_sweep(); r['seconds'] = time.perf_counter() - t; "
            "print(json.dumps(r))")
    env = {**os.environ, "WEFT_RUN_RETENTION_DAYS": "0", "WEFT_FAILED_RUN_RETENTION_DAYS": "0"}
    job = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env,
                           stdout=subprocess.PIPE, text=True)
    done = threading.Event()
    threading.Thread(target=lambda: (job.wait(), done.set()), daemon=True).start()
    during = _webhook(samples * 1000, stop=done)
    result = json.loads(job.stdout.read().strip().splitlines()[-1])
    _line("webhook while retention deletes", during)
    print(f"retention: {result.get('runs', 0):,} runs, {result.get('node_runs', 0):,} node "
          f"runs in {result.get('batches', 0):,} batches, {result.get('seconds', 0):.0f} s "
          f"({result.get('runs', 0) / max(result.get('seconds', 1), 1e-9):,.0f} runs/s); "
          f"runs left: {Run.objects.count():,}")
    print(f"webhook p99 during / alone: x{harness.pct(during, 0.99) / harness.pct(before, 0.99):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    harness.django_setup(database="weft_bench_runs")
    try:
        flows = _fill(args.runs)
        bench_pages(args.runs, flows, args.samples)
        bench_retention(args.runs, args.samples)
    finally:
        if not args.keep:
            harness.drop_database()


if __name__ == "__main__":
    main()
