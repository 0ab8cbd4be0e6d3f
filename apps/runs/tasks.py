"""Celery tasks: take ids, call one service. Late acks and reject-on-worker-lost
(settings) make delivery at least once; the services make completion idempotent."""

from __future__ import annotations

from celery import shared_task

from apps.runs import services, triggers


@shared_task(name="runs.node_execute")
def node_execute(node_run_id: int) -> str:
    return services.node_run_execute(node_run_id=node_run_id,
                                     worker=node_execute.request.hostname or "")


@shared_task(name="runs.sweep")
def sweep() -> dict:
    return services.runs_sweep()


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
