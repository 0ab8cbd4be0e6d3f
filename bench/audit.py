"""Audit log benchmark: prints figures, never fails on time.

    .venv/bin/python bench/audit.py            # 100k recorded, 1M verified and queried
    .venv/bin/python bench/audit.py --total 200000 --keep

Runs in its own database (weft_bench_audit on the same PostgreSQL server),
dropped at the end unless --keep. Measures:
  1. recording 100,000 events: the bulk path (audit_record_many, COPY) and,
     on a sample, the one-event path (audit_record, one transaction each);
  2. verifying a chain of --total events (manage.py audit_verify's code);
  3. console queries at that size: filtered first pages, a deep keyset page,
     payload search, and the whole console page rendered.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "weft_bench_audit"

ACTIONS = ["workflow.update"] * 30 + ["run.start"] * 20 + ["run.finish"] * 20 + [
    "workflow.publish", "workflow.create", "approval.decide", "approval.decide",
    "credential.update", "auth.login", "auth.login", "auth.login_failed", "token.create",
    "user.roles_change", "inference.call", "inference.call", "run.cancel", "workflow.export"]
WORDS = ["invoice", "order", "refund", "shipment", "contract", "renewal", "onboarding",
         "payroll", "vendor", "claim", "ticket", "review", "escalation", "compliance", "audit",
         "budget", "forecast"]


def _database_url() -> str:
    from config import embedded

    base = os.environ.get("DATABASE_URL") or embedded.up()["database_url"]
    os.environ.setdefault("REDIS_URL", os.environ.get("REDIS_URL") or embedded.up()["redis_url"])
    return base


def _recreate(base_url: str, drop_only: bool = False) -> str:
    import psycopg
    from psycopg import sql

    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(BENCH_DB)))
        if not drop_only:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(BENCH_DB)))
    info = psycopg.conninfo.conninfo_to_dict(base_url)
    info["dbname"] = BENCH_DB
    host = info.pop("host", "")
    user = info.get("user", "postgres")
    port = info.get("port", 5432)
    if host.startswith("/"):
        return f"postgresql://{user}:@/{BENCH_DB}?host={host}&port={port}"
    password = info.get("password", "")
    return f"postgresql://{user}:{password}@{host}:{port}/{BENCH_DB}"


def _specs(count: int, rng: random.Random):
    from apps.audit.actors import Actor, Target
    from apps.audit.services import EventSpec

    users = [Actor("user", str(i), f"user{i}", i) for i in range(1, 201)]
    systems = [Actor.system("engine"), Actor.system("scheduler"), Actor.model("classifier", 3)]
    for i in range(count):
        action = rng.choice(ACTIONS)
        actor = rng.choice(systems) if action.startswith(("run.", "inference.")) else \
            rng.choice(users)
        n = rng.randrange(5000)
        yield EventSpec(
            action=action, actor=actor,
            target=Target(action.split(".")[0], f"{n:08x}-0000-4000-8000-{i:012x}",
                          f"{rng.choice(WORDS).title()} process {n}"),
            data={"note": " ".join(rng.choices(WORDS, k=4)), "amount": rng.randrange(100_000),
                  "customer": f"cust{n}", "step": rng.randrange(20), "ok": i % 7 != 0},
            request_id=f"{rng.getrandbits(64):016x}", run_id="")


def _timed(fn, repeat: int = 5) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", type=int, default=100_000)
    parser.add_argument("--single", type=int, default=2_000,
                        help="events recorded one by one (audit_record) for the per-call rate")
    parser.add_argument("--total", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()

    base_url = _database_url()
    os.environ["DATABASE_URL"] = _recreate(base_url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("WEFT_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from apps.audit.selectors import EventFilter, event_page
    from apps.audit.services import audit_record, audit_record_many
    from apps.audit.verification import chain_verify

    call_command("migrate", verbosity=0)
    rng = random.Random(42)
    print(f"Audit benchmark: database {BENCH_DB}, PostgreSQL "
          f"{connection.cursor().connection.info.server_version}, {os.cpu_count()} CPU(s)")
    try:
        # 1. Recording
        chunk = 10_000
        started = time.perf_counter()
        done = 0
        while done < args.record:
            n = min(chunk, args.record - done)
            audit_record_many(_specs(n, rng))
            done += n
        elapsed = time.perf_counter() - started
        print(f"record (bulk, audit_record_many, {chunk:,}/transaction): {args.record:,} events "
              f"in {elapsed:.2f} s = {args.record / elapsed:,.0f} events/s")
        started = time.perf_counter()
        for spec in _specs(args.single, rng):
            audit_record(action=spec.action, actor=spec.actor, target=spec.target,
                         data=spec.data, request_id=spec.request_id)
        elapsed = time.perf_counter() - started
        print(f"record (one by one, audit_record, 1 transaction each): {args.single:,} events "
              f"in {elapsed:.2f} s = {args.single / elapsed:,.0f} events/s")

        # Fill up to --total
        have = args.record + args.single
        started = time.perf_counter()
        while have < args.total:
            n = min(50_000, args.total - have)
            audit_record_many(_specs(n, rng))
            have += n
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE audit_event")
            cursor.execute("SELECT count(*), pg_size_pretty(pg_total_relation_size('audit_event'))"
                           " FROM audit_event")
            count, size = cursor.fetchone()
        print(f"filled to {count:,} events in {time.perf_counter() - started:.1f} s "
              f"(table with indexes: {size})")

        # 2. Verification
        result = chain_verify()
        print(f"verify {result.count:,} events: {result.seconds:.2f} s = "
              f"{result.count / result.seconds:,.0f} events/s, ok={result.ok}")

        # 3. Console queries
        with connection.cursor() as cursor:
            cursor.execute("SELECT max(seq), min(at), max(at) FROM audit_event")
            top, first_at, last_at = cursor.fetchone()
            cursor.execute("SELECT target_type, target_id FROM audit_event WHERE seq = %s",
                           [top // 2])
            some_type, some_id = cursor.fetchone()
        middle = first_at + (last_at - first_at) / 2
        cases = {
            "no filter, first page": (EventFilter(), None),
            "action=workflow.publish": (EventFilter(action="workflow.publish"), None),
            "action prefix approval.": (EventFilter(action="approval."), None),
            "actor user17 (by label)": (EventFilter(actor="user17"), None),
            "target type+id": (EventFilter(target_type=some_type, target_id=some_id), None),
            "time range (middle 10% of the log)": (EventFilter(
                since=middle, until=middle + (last_at - first_at) / 10), None),
            "search q=refund": (EventFilter(q="refund"), None),
            "search q=cust4242 (rare)": (EventFilter(q="cust4242"), None),
            "search + action": (EventFilter(q="payroll compliance", action="approval.decide"),
                                None),
            "keyset page deep (before=seq/2)": (EventFilter(), top // 2),
            "action + deep page": (EventFilter(action="run.start"), top // 3),
        }
        for name, (filters, before) in cases.items():
            seconds, page = _timed(lambda f=filters, b=before: event_page(filters=f, before=b))
            print(f"console query [{name}]: {seconds * 1000:.1f} ms median of 5, "
                  f"{len(page.events)} rows")

        from django.test import Client

        from apps.accounts.services import user_create

        admin = user_create(username="bench-admin", roles=["admin"])
        client = Client()
        client.force_login(admin)
        for label, query in (("action filter", {"action": "credential.update"}),
                             ("payload search", {"q": "refund escalation"})):
            seconds, response = _timed(lambda q=query: client.get("/console/audit/", q))
            print(f"console page /console/audit/ [{label}] rendered: {seconds * 1000:.1f} ms "
                  f"median of 5 (status {response.status_code})")
    finally:
        connection.close()
        if not args.keep:
            _recreate(base_url, drop_only=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
