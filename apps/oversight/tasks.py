"""Celery tasks of model oversight: take ids or nothing, call one service."""

from celery import shared_task

from apps.oversight import alerts, rollup, shadow
from apps.runs import rows


@shared_task(name="oversight.rollup")
def rollup_hours() -> dict:
    return {"read": rollup.model_hours_rollup()}


@shared_task(name="oversight.check")
def check_versions() -> dict:
    if not rows.sweep_turn(name="model-alerts", every_s=15):
        return {"skipped": 1}
    rollup.model_hours_rollup()
    return {"fired": alerts.model_versions_check()}


@shared_task(name="oversight.retention")
def retention() -> dict:
    return {"deleted": rollup.model_calls_retention()}


@shared_task(name=shadow.SHADOW_TASK)
def shadow_call(*, server: str, model: str, version: str, values: dict, run_id: str,
                node_id: str) -> str:
    return shadow.shadow_call_run(server=server, model=model, version=version, values=values,
                                  run_id=run_id, node_id=node_id)
