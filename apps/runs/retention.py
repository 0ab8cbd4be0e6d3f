"""Retention: finished runs older than their workflow's retention are deleted, with their
node runs, map items, child runs and closed tasks, by a scheduled job in small batches.

- How long: `WorkflowRuntime.retention_days` (else WEFT_RUN_RETENTION_DAYS) after a run
  finished; a failed run `failed_retention_days` (else WEFT_FAILED_RUN_RETENTION_DAYS),
  so failures can be kept longer. Compared with PostgreSQL's clock.
- Never: a run that is not finished, a child run (it goes with its top-level run), a run
  referenced by an open approval task.
- How: keyset batches of WEFT_RETENTION_BATCH runs in (finished_at, id) order, each its
  own short transaction that skips rows another transaction holds (FOR UPDATE SKIP
  LOCKED), so the engine is never blocked behind it; each batch is one audit event with
  its counts. Called by the beat task `runs.retention`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection, transaction

from apps.audit.actors import Actor
from apps.audit.services import audit_record
from apps.runs.models import MapItem, NodeRun, Run, RunStatus

FINISHED = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)

# The next batch: finished top-level runs past their cutoff, after the keyset cursor.
_DUE = """
SELECT r.id, r.finished_at FROM runs_run r
LEFT JOIN runs_workflowruntime rt ON rt.workflow_id = r.workflow_id
WHERE r.parent_run_id IS NULL
  AND r.status = ANY(%(finished)s)
  AND r.finished_at < now() - make_interval(days => CASE WHEN r.status = 'failed'
        THEN COALESCE(rt.failed_retention_days, %(failed_days)s)
        ELSE COALESCE(rt.retention_days, %(days)s) END)
  AND (r.finished_at, r.id) > (%(after_at)s, %(after_id)s)
  AND NOT EXISTS (SELECT 1 FROM approvals_task t WHERE t.run_id = r.id
                  AND t.status = 'open')
ORDER BY r.finished_at, r.id
LIMIT %(batch)s
FOR UPDATE OF r SKIP LOCKED
"""


def _due_batch(*, after: tuple[Any, Any], batch: int) -> list[tuple[Any, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(_DUE, {
            "finished": list(FINISHED), "days": settings.WEFT_RUN_RETENTION_DAYS,
            "failed_days": settings.WEFT_FAILED_RUN_RETENTION_DAYS,
            "after_at": after[0], "after_id": after[1], "batch": batch})
        return cursor.fetchall()


_TREE = """
WITH RECURSIVE tree AS (
    SELECT id FROM runs_run WHERE id = ANY(%s)
    UNION ALL SELECT r.id FROM runs_run r JOIN tree t ON r.parent_run_id = t.id)
SELECT id FROM tree"""


def _delete(ids: list[Any]) -> dict[str, int]:
    """Delete these runs with their child runs, node runs, map items and (closed) tasks,
    table by table in set statements (the ORM's cascade would read every row first)."""
    from apps.approvals.models import Task

    with connection.cursor() as cursor:
        cursor.execute(_TREE, [ids])
        tree = [row[0] for row in cursor.fetchall()]
        # Tasks have rows of their own (votes, events, assignees): the ORM's cascade.
        Task.objects.filter(run_id__in=tree).delete()
        cursor.execute(f"DELETE FROM {MapItem._meta.db_table} WHERE node_run_id IN "
                       f"(SELECT id FROM {NodeRun._meta.db_table} WHERE run_id = ANY(%s))",
                       [tree])
        map_items = cursor.rowcount
        cursor.execute(f"UPDATE {MapItem._meta.db_table} SET child_run_id = NULL "
                       "WHERE child_run_id = ANY(%s)", [tree])
        cursor.execute(f"DELETE FROM {NodeRun._meta.db_table} WHERE run_id = ANY(%s)",
                       [tree])
        node_runs = cursor.rowcount
        cursor.execute(f"DELETE FROM {Run._meta.db_table} WHERE id = ANY(%s)", [tree])
        runs = cursor.rowcount
    return {"runs": runs, "node_runs": node_runs, "map_items": map_items}


def runs_retention_sweep(*, batch: int | None = None, max_batches: int | None = None
                         ) -> dict[str, int]:
    """Delete what is past retention, a batch at a time; returns the totals."""
    batch = batch or settings.WEFT_RETENTION_BATCH
    after: tuple[Any, Any] = ("-infinity", "00000000-0000-0000-0000-000000000000")
    totals = {"batches": 0, "runs": 0, "node_runs": 0, "map_items": 0}
    while max_batches is None or totals["batches"] < max_batches:
        with transaction.atomic():
            due = _due_batch(after=after, batch=batch)
            if not due:
                break
            after = (due[-1][1], due[-1][0])
            counts = _delete([row[0] for row in due])
            audit_record(action="runs.retention", actor=Actor.system("retention"),
                         data={**counts, "top_level_runs": len(due),
                               "oldest_finished_at": due[0][1].isoformat(),
                               "newest_finished_at": due[-1][1].isoformat()})
        totals["batches"] += 1
        for key, value in counts.items():
            totals[key] += value
    return totals
