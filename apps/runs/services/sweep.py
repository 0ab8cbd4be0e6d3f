"""The sweep, every second: whatever is due (retries, timers), node messages that
never arrived or whose holder is gone, child runs that outlived their parent, runs
past their deadline, paused runs free to go on, schedules, queued runs. The top of
the engine: it calls every other part, and nothing calls it but its task."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef

from apps.runs import replay, rows, triggers
from apps.runs.engine_hooks import engine_hooks
from apps.runs.models import NodeRun, NodeStatus, Run, RunStatus
from apps.runs.services.advance import advance, decide_run_status, write_step
from apps.runs.services.control import cancel_children, runs_resume_paused
from apps.runs.services.dispatch import dispatch_again
from apps.runs.services.resume import node_run_resume
from apps.runs.services.runtime import engine_paused_reason
from apps.runs.services.starts import runs_start_queued
from apps.runs.services.step import (
    Outcome,
    StepOutdated,
    log_context_bind,
    set_node_status,
    set_run_status,
    step_load,
)
from apps.runs.services.transitions import NODE_OPEN, RUN_ACTIVE, RUN_FINISHED


def runs_sweep(*, now: datetime | None = None, batch: int = 500) -> dict[str, int]:
    """Everything that is due (called every second by beat, on the maintenance queue).
    Due times are compared with PostgreSQL's clock (`now` only in tests)."""
    now = now or rows.db_now()
    counts = {"due": 0, "timers": 0, "requeued": 0, "orphans": 0, "deadlines": 0,
              "resumed": 0}
    # Pending rows whose time came (retries): one step per run.
    due_runs = set(NodeRun.objects.filter(status=NodeStatus.PENDING, due_at__lte=now,
                                          run__status__in=[RunStatus.RUNNING,
                                                           RunStatus.WAITING])
                   .values_list("run_id", flat=True)[:batch])
    for run_id in due_runs:
        with transaction.atomic():
            run = rows.run_lock(run_id)
            if run is None or run.status not in (RunStatus.RUNNING, RunStatus.WAITING):
                continue
            log_context_bind(run)
            step = step_load(run, now=now)
            step.paused = bool(engine_paused_reason(workflow_id=run.workflow_id))
            advance(step)
            decide_run_status(step)
            try:
                with transaction.atomic():
                    write_step(step)
                    counts["due"] += 1
            except StepOutdated:
                pass
    # Timers: waiting rows with a due time go on with their outputs.
    for pk in NodeRun.objects.filter(status=NodeStatus.WAITING, due_at__lte=now).values_list(
            "pk", flat=True)[:batch]:
        if node_run_resume(node_run_id=pk) != Outcome.DROPPED:
            counts["timers"] += 1
    # Queued rows whose message never arrived (a broker outage): send them again.
    stale = now - timedelta(seconds=settings.WEFT_REQUEUE_AFTER_S)
    stale_rows = list(NodeRun.objects.filter(status=NodeStatus.QUEUED, queued_at__lt=stale,
                                             run__status=RunStatus.RUNNING)
                      .select_related("run").only("pk", "node_id", "run__version_id",
                                                  "run__trace_id")[:batch])
    for row in stale_rows:
        if NodeRun.objects.filter(pk=row.pk, status=NodeStatus.QUEUED,
                                  queued_at__lt=stale).update(queued_at=now):
            dispatch_again(row)
            counts["requeued"] += 1
    # Running rows whose lease lapsed long ago: their worker is gone and no message is
    # left to take them over (e.g. a whole worker machine lost). Send them again; the
    # lapsed lease lets the next delivery claim them.
    lapsed = now - timedelta(seconds=settings.WEFT_REQUEUE_AFTER_S)
    lost_rows = list(NodeRun.objects.filter(status=NodeStatus.RUNNING, lease_until__lt=lapsed,
                                            run__status=RunStatus.RUNNING)
                     .select_related("run").only("pk", "node_id", "lease_until",
                                                 "run__version_id", "run__trace_id")[:batch])
    for row in lost_rows:
        if NodeRun.objects.filter(pk=row.pk, status=NodeStatus.RUNNING,
                                  lease_until=row.lease_until).update(lease_until=now):
            dispatch_again(row)
            counts["requeued"] += 1
    # Child runs still in flight under a parent that ended (cancelled, failed).
    for parent_id in (Run.objects.filter(status__in=(RunStatus.QUEUED, *RUN_ACTIVE),
                                         parent_run__status__in=RUN_FINISHED)
                      .values_list("parent_run_id", flat=True).distinct()[:batch]):
        counts["orphans"] += cancel_children(parent_id)
    # Runs past their deadline fail.
    # Time waiting on a person does not count (engine_hooks: pauses_deadline): such a
    # run is not failed while it waits, and its deadline moves on when it resumes.
    waiting_on_people = NodeRun.objects.filter(
        run_id=OuterRef("pk"), status=NodeStatus.WAITING,
        state__kind__in=engine_hooks.deadline_paused_kinds())
    for run_id in Run.objects.filter(status__in=RUN_ACTIVE, deadline_at__lt=now).exclude(
            Exists(waiting_on_people)).values_list("pk", flat=True)[:batch]:
        with transaction.atomic():
            run = rows.run_lock(run_id)
            if run is None or run.status not in RUN_ACTIVE:
                continue
            step = step_load(run, now=now)
            for row in step.rows.values():
                if row.status in NODE_OPEN:
                    set_node_status(step, row, NodeStatus.CANCELLED, finished_at=now)
            set_run_status(step, RunStatus.FAILED, finished_at=now, error={
                "type": "timeout", "message": "The run passed its time limit."})
            write_step(step)
            counts["deadlines"] += 1
    counts["resumed"] = runs_resume_paused()
    counts["receipts"] = replay.receipts_sweep()
    counts["schedules"] = triggers.schedules_sweep(now=now)
    for workflow_id in (Run.objects.filter(status=RunStatus.QUEUED, parent_run__isnull=True)
                        .values_list("workflow_id", flat=True).distinct()[:50]):
        runs_start_queued(workflow_id=workflow_id)
    return counts
