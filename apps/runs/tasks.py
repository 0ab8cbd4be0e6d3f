"""Celery tasks: take ids, call one service. Late acks and reject-on-worker-lost
(settings) make delivery at least once; the services make completion idempotent."""

from __future__ import annotations

import logging
import time

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from apps.runs import io_executor, rows, services, triggers
from apps.runs.retention import runs_retention_sweep
from apps.runs.services.step import Outcome

# Beat sends the sweep every second; a sweep that finds another ran less than half a
# second ago by PostgreSQL's clock is skipped (celery_worker/app.py: no message expiry).
SWEEP_SPACING_S = 0.5

logger = logging.getLogger("weft.runs")


# Tries of a delivery, in this process, while the database comes and goes.
DATABASE_TRIES = 3


@shared_task(name="runs.node_execute", bind=True, max_retries=None)
def node_execute(self, node_run_id: int) -> str:
    deadline = time.monotonic() + 60
    for tries in range(1, DATABASE_TRIES + 1):
        try:
            outcome = io_executor.node_execute(
                node_run_id=node_run_id, worker=self.request.hostname or "",
                queue=(self.request.delivery_info or {}).get("routing_key") or "")
            break
        except (OperationalError, InterfaceError) as exc:
            # The database went away (a restart, a dropped connection): nothing was
            # committed half-way, but the node may be running under this process's
            # name already (a claim whose answer was lost, a read after it), and no
            # other process takes it from a holder that beats until its lease lapses.
            # Wait here until the database answers (a minute at most), then try again
            # in this process, which takes its own attempt over at once; after that,
            # deliver again at once. (No countdown: an ETA is read with the receiving
            # worker's clock.)
            logger.warning("node run %s: the database went away (%s); trying again once "
                           "it is back", node_run_id, exc.__class__.__name__)
            if not services.database_back(deadline=deadline) or tries == DATABASE_TRIES:
                raise self.retry(exc=exc, countdown=0, max_retries=None) from exc
    if outcome == Outcome.BUSY:
        # Another live worker holds the node. If it dies, its lease lapses: look again
        # then (this message may be the only one left for the node).
        raise self.retry(countdown=settings.WEFT_NODE_LEASE_S)
    return outcome


@shared_task(name="runs.sweep")
def sweep() -> dict:
    if not rows.sweep_turn(name="runs", every_s=SWEEP_SPACING_S):
        return {"skipped": 1}  # another worker swept a moment ago
    return services.runs_sweep()


@shared_task(name="runs.retention")
def retention() -> dict:
    return runs_retention_sweep()


@shared_task(name="runs.map_progress")
def map_progress(node_run_id: int) -> str:
    return services.map_progress(node_run_id=node_run_id)


@shared_task(name="runs.map_chunk")
def map_chunk(node_run_id: int, chunk: int) -> int:
    return services.map_chunk_run(node_run_id=node_run_id, chunk=chunk)


@shared_task(name="runs.start_queued")
def start_queued(workflow_id: str) -> int:
    return services.runs_start_queued(workflow_id=workflow_id)


@shared_task(name="runs.error_triggers")
def error_triggers(run_id: str) -> int:
    return triggers.error_triggers_fire(run_id=run_id)
