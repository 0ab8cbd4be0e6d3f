"""Celery tasks of human tasks: take nothing, call one service."""

from celery import shared_task

from apps.approvals import services


@shared_task(name="approvals.sweep")
def sweep() -> dict:
    return services.tasks_sweep()
