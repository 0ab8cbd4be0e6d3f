"""Celery tasks of human tasks: take nothing, call one service."""

from celery import shared_task

from apps.approvals import services
from apps.runs import rows


@shared_task(name="approvals.sweep")
def sweep() -> dict:
    if not rows.sweep_turn(name="approvals", every_s=2.5):  # sent every 5 s by beat
        return {"skipped": 1}
    return services.tasks_sweep()
