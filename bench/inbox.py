"""Reviewer inbox benchmark: prints figures, never fails on time.

    .venv/bin/python bench/inbox.py                 # 100,000 open tasks, 50 teams, 2,000 reviewers
    .venv/bin/python bench/inbox.py --tasks 20000   # smaller

Runs in its own database (weft_bench_inbox on the embedded PostgreSQL), dropped at the
end unless --keep. Rows are made with SQL (generate_series). Measures:
  1. the first page of "assigned to me" and "my teams" (the API's selector and
     serializer, as GET /api/tasks/ runs them, counts included), p50/p99 over reviewers;
  2. a decision to the run's next node finishing (the decision, the resume and the
     inline node after it, in this process), p50/p99;
  3. a task's creation to its arrival on an open inbox WebSocket (the real ASGI stack
     and Redis channel layer), p50.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402

TEAMS, REVIEWERS = 50, 2000


def _fill(tasks: int) -> None:
    """Reviewers, teams, runs waiting on approval nodes and their open tasks, in SQL."""
    from django.db import connection

    from tests.fixtures.approvals import approval_flow

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO auth_user (username, password, is_superuser, first_name, last_name,"
            " email, is_staff, is_active, date_joined) SELECT 'reviewer' || i, '!', false,"
            " '', '', 'reviewer' || i || '@example.com', false, true, now()"
            " FROM generate_series(1, %s) AS i", [REVIEWERS])
        cursor.execute(
            "INSERT INTO auth_user_groups (user_id, group_id) SELECT u.id, g.id FROM auth_user u,"
            " auth_group g WHERE u.username LIKE 'reviewer%%' AND g.name = 'reviewer'")
        cursor.execute(
            "INSERT INTO approvals_team (id, name, description, webhook_url, created_at)"
            " SELECT gen_random_uuid(), 'Team ' || i, '', '', now()"
            " FROM generate_series(0, %s - 1) AS i", [TEAMS])
        # Every reviewer in two teams.
        cursor.execute(
            "INSERT INTO approvals_team_members (team_id, user_id)"
            " SELECT t.id, u.id FROM auth_user u JOIN approvals_team t ON t.name IN ("
            " 'Team ' || (substr(u.username, 9)::int %% %s),"
            " 'Team ' || ((substr(u.username, 9)::int * 7 + 3) %% %s))"
            " WHERE u.username LIKE 'reviewer%%'", [TEAMS, TEAMS])
    workflow = harness.publish("Inbox bench", approval_flow(assignee_teams=["Team 0"]))
    version = workflow.versions.get()
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bench_ids AS SELECT i, gen_random_uuid() AS run_id"
            " FROM generate_series(1, %s) AS i", [tasks])
        cursor.execute(
            "INSERT INTO runs_run (id, workflow_id, version_id, trigger, input, status,"
            " created_at, started_at, trace_id, trigger_ref, vars, mode, search_terms)"
            " SELECT run_id, %s, %s, 'manual', jsonb_build_object('number', i), 'waiting',"
            " now() - (i || ' seconds')::interval, now(), md5(i::text), '', '{}'::jsonb,"
            " 'production', '{}'"
            " FROM bench_ids", [str(workflow.pk), version.pk])
        cursor.execute(
            "INSERT INTO runs_noderun (run_id, node_id, node_type, attempt, status, inputs,"
            " created_at, delivery_count, worker, state)"
            " SELECT run_id, 'review', 'human.approval', 1, 'waiting', '{}'::jsonb, now(), 0,"
            " '', '{\"kind\": \"approval\", \"payload\": {}}'::jsonb FROM bench_ids")
        cursor.execute(
            "INSERT INTO approvals_task (id, run_id, node_run_id, workflow_id, node_id, title,"
            " instructions, context, form_values, mode, quorum_n, status, due_at,"
            " overdue_steps, next_step, is_test, forbid_self_approval, decision, comment,"
            " search_text, created_at, updated_at)"
            " SELECT gen_random_uuid(), b.run_id, n.id, %s, 'review', 'Invoice INV-' || b.i,"
            " '', '[]'::jsonb, '{}'::jsonb, 'any', 1, 'open',"
            " now() + ((b.i %% 500) || ' hours')::interval, '[]'::jsonb, 0, false, false, '',"
            " '', 'invoice inv-' || b.i, now() - (b.i || ' seconds')::interval, now()"
            " FROM bench_ids b JOIN runs_noderun n ON n.run_id = b.run_id",
            [str(workflow.pk)])
        cursor.execute(
            "INSERT INTO approvals_task_assignee_teams (task_id, team_id)"
            " SELECT t.id, tm.id FROM approvals_task t JOIN approvals_team tm"
            " ON tm.name = 'Team ' || (substr(t.title, 13)::int %% %s)", [TEAMS])
        # One task in twenty also names a reviewer directly.
        cursor.execute(
            "INSERT INTO approvals_task_assignee_users (task_id, user_id)"
            " SELECT t.id, u.id FROM approvals_task t JOIN auth_user u"
            " ON u.username = 'reviewer' || (1 + (substr(t.title, 13)::int / 20) %% %s)"
            " WHERE substr(t.title, 13)::int %% 20 = 0", [REVIEWERS])
        cursor.execute("ANALYZE")
    return workflow


def _first_pages(samples: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection, reset_queries

    from apps.approvals import selectors
    from apps.approvals.apis import TaskSummarySerializer

    users = list(get_user_model().objects.filter(username__startswith="reviewer")
                 .order_by("?")[:samples])
    for tab in ("mine", "team"):
        timings, sizes = [], []
        parts: dict[str, list[float]] = {"page": [], "tab counts": []}
        for user in users:
            started = time.perf_counter()
            # As GET /api/tasks/ does: the tab counts give the page count too.
            selectors.tab_counts(user=user)
            counted = time.perf_counter()
            qs = selectors.task_list(user=user, tab=tab)
            page = list(qs[:25])
            TaskSummarySerializer(page, many=True).data  # noqa: B018
            ended = time.perf_counter()
            timings.append((ended - started) * 1000)
            parts["tab counts"].append((counted - started) * 1000)
            parts["page"].append((ended - counted) * 1000)
            sizes.append(len(page))
            reset_queries()
        print(f"  first page of {tab!r:7} (25 rows and the tab counts): "
              f"p50 {harness.pct(timings, 0.5):6.1f} ms  p99 {harness.pct(timings, 0.99):6.1f} ms"
              f"  (rows shown: median {statistics.median(sizes):.0f})", flush=True)
        print("      of which " + ", ".join(
            f"{name} p50 {harness.pct(values, 0.5):.1f} ms" for name, values in parts.items()),
            flush=True)
    connection.close()


def _decisions(workflow, samples: int) -> None:
    from django.contrib.auth import get_user_model

    from apps.approvals import services
    from apps.approvals.models import Task
    from apps.runs.models import NodeRun

    admin = get_user_model().objects.filter(username="bench-admin").first()
    if admin is None:
        from apps.accounts.services import user_create

        admin = user_create(username="bench-admin", roles=["admin"])
    tasks = list(Task.objects.filter(status="open").order_by("?")[:samples])
    timings = []
    for task in tasks:
        started = time.perf_counter()
        services.task_decide(task=task, user=admin, decision="approved")
        timings.append((time.perf_counter() - started) * 1000)
    done = NodeRun.objects.filter(run_id__in=[t.run_id for t in tasks], node_id="ok",
                                  status="succeeded").count()
    print(f"  decision -> next node finished ({done}/{len(tasks)} runs went on): "
          f"p50 {harness.pct(timings, 0.5):.1f} ms  p99 {harness.pct(timings, 0.99):.1f} ms",
          flush=True)


def _live(workflow, samples: int) -> None:
    from channels.db import database_sync_to_async
    from channels.testing import WebsocketCommunicator
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from apps.runs import services as runs
    from config.asgi import application

    user = get_user_model().objects.get(username="reviewer50")  # in Team 0 (50 % 50)
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver"),
               (b"cookie", f"{settings.SESSION_COOKIE_NAME}={session}".encode())]

    async def measure():
        inbox = WebsocketCommunicator(application, "/ws/inbox/", headers=headers)
        connected, _ = await inbox.connect()
        assert connected
        await inbox.receive_json_from(timeout=5)
        timings = []
        for n in range(samples):
            started = time.perf_counter()
            await database_sync_to_async(runs.run_start)(workflow=workflow,
                                                         input={"number": f"L{n}"})
            while True:
                event = await inbox.receive_json_from(timeout=10)
                if event.get("task", {}).get("title") == f"Invoice L{n}":
                    break
            timings.append((time.perf_counter() - started) * 1000)
        await inbox.disconnect()
        return timings

    timings = asyncio.run(measure())
    print(f"  task created -> on an open inbox WebSocket: p50 {harness.pct(timings, 0.5):.1f} ms"
          f"  p99 {harness.pct(timings, 0.99):.1f} ms  ({samples} runs)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("WEFT_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
    harness.django_setup(database="weft_bench_inbox")
    try:
        started = time.perf_counter()
        workflow = _fill(args.tasks)
        print(f"INBOX: {args.tasks:,} open tasks, {TEAMS} teams, {REVIEWERS:,} reviewers "
              f"(made in {time.perf_counter() - started:.1f} s)", flush=True)
        _first_pages(args.samples)
        _decisions(workflow, min(args.samples, 100))
        _live(workflow, 50)
    finally:
        if not args.keep:
            harness.drop_database()
    random.seed(0)


if __name__ == "__main__":
    main()
