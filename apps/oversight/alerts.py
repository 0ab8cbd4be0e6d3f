"""Model alerts: rules per model version evaluated on a schedule (`model_versions_check`).

A rule that crosses its threshold while it has no alert open fires one alert, which is
a record (acknowledged and resolved in the console), an audit event with the rule as
the actor, a notification (e-mail to the rule's team, or to the admins, and the team's
outgoing webhook, as for the inbox), the start of every workflow with a
`trigger.model_alert` that watches it, and, where the rule says so, a pause of every
workflow that uses the model version (the kill switch), audited with the rule as actor.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.functions import Now
from django.utils import timezone

from apps.accounts.roles import ADMIN
from apps.audit.actors import SYSTEM, Actor
from apps.audit.services import audit_record
from apps.core.errors import Conflict, Unprocessable
from apps.oversight.drift import DriftResult
from apps.oversight.models import Alert, AlertRule, AlertStatus, ModelVersion, RuleKind
from apps.oversight.selectors import (
    model_version_drift,
    model_version_usage,
    model_version_window,
)

logger = logging.getLogger("weft.oversight.alerts")

TRIGGER = "trigger.model_alert"


def rule_actor(rule: AlertRule) -> Actor:
    return Actor(SYSTEM, f"model-alert-rule:{rule.pk}", f"alert rule {rule.name}")


def rule_value(*, rule: AlertRule, drift: DriftResult | None, now: datetime) -> float | None:
    """The rule's measure now; None when there is nothing to judge (too few calls)."""
    version = rule.version
    if rule.kind == RuleKind.DRIFT:
        if drift is None or not drift.enough:
            return None
        return drift.worst()
    window = model_version_window(version=version, start=now - timedelta(hours=rule.window_hours),
                                  end=now)
    if not window.calls:
        return None
    if rule.kind == RuleKind.ERROR_RATE:
        return window.error_rate
    return window.percentile(0.99)


def rule_crossed(*, rule: AlertRule, value: float | None, drift: DriftResult | None) -> bool:
    if value is None:
        return False
    if rule.kind == RuleKind.DRIFT:
        version = rule.version
        psi = rule.threshold if rule.threshold is not None else version.psi_threshold
        return drift is not None and drift.drifted(psi_threshold=psi,
                                                   kl_threshold=version.kl_threshold)
    return rule.threshold is not None and value > rule.threshold


def model_versions_check(*, now: datetime | None = None) -> int:
    """Compute each version's drift, store it, and evaluate the active rules; returns
    how many alerts fired."""
    now = now or timezone.now()
    fired = 0
    for version in ModelVersion.objects.all():
        drift = model_version_drift(version=version, now=now)
        drifted = drift.drifted(psi_threshold=version.psi_threshold,
                                kl_threshold=version.kl_threshold)
        ModelVersion.objects.filter(pk=version.pk).update(
            drift={**drift.as_dict(), "drifted": drifted}, drift_checked_at=now)
        for rule in version.rules.filter(is_active=True):
            rule.version = version
            value = rule_value(rule=rule, drift=drift, now=now)
            if not rule_crossed(rule=rule, value=value, drift=drift):
                continue
            if rule.alerts.exclude(status=AlertStatus.RESOLVED).exists():
                continue  # one alert at a time per rule, until it is resolved
            alert_fire(rule=rule, value=value or 0.0, drift=drift)
            fired += 1
    return fired


def _message(rule: AlertRule, value: float) -> str:
    version = rule.version
    what = {RuleKind.DRIFT: "drift", RuleKind.ERROR_RATE: "error rate",
            RuleKind.LATENCY_P99: "latency p99 (ms)"}[RuleKind(rule.kind)]
    return (f"{version.model} v{version.model_version or 'latest'} on {version.server}: "
            f"{what} {value:.3f} crossed the rule {rule.name!r}")[:500]


@transaction.atomic
def alert_fire(*, rule: AlertRule, value: float, drift: DriftResult | None = None) -> Alert:
    version = rule.version
    data: dict[str, Any] = {"kind": rule.kind, "threshold": rule.threshold,
                            "window_hours": rule.window_hours}
    if drift is not None and rule.kind == RuleKind.DRIFT:
        data["drift"] = drift.as_dict()
    alert = Alert.objects.create(rule=rule, value=value, message=_message(rule, value),
                                 data=data)
    actor = rule_actor(rule)
    audit_record(action="model_alert.fire", actor=actor, target=alert,
                 data={"rule": rule.name, "kind": rule.kind, "value": round(value, 4),
                       "server": version.server, "model": version.model,
                       "version": version.model_version})
    if rule.pause_workflows:
        alert.paused_workflows = _pause_users(rule=rule, alert=alert, actor=actor)
        alert.save(update_fields=["paused_workflows"])
    alert_input = alert_event(alert)
    transaction.on_commit(lambda: alert_notify(alert_id=alert.pk))
    transaction.on_commit(lambda: model_alert_triggers_fire(alert=alert_input))
    return alert


def alert_event(alert: Alert) -> dict[str, Any]:
    """What a `trigger.model_alert` workflow gets as its input."""
    rule, version = alert.rule, alert.rule.version
    return {"alert_id": alert.pk, "rule": rule.name, "kind": rule.kind, "value": alert.value,
            "threshold": rule.threshold, "message": alert.message, "server": version.server,
            "model": version.model, "version": version.model_version,
            "paused_workflows": alert.paused_workflows,
            "created_at": alert.created_at.isoformat()}


def _pause_users(*, rule: AlertRule, alert: Alert, actor: Actor) -> list[str]:
    from apps.runs.services import engine_pause
    from apps.workflows.models import Workflow

    paused = []
    for use in model_version_usage(version=rule.version):
        workflow = Workflow.objects.filter(pk=use["workflow_id"]).first()
        if workflow is None:
            continue
        engine_pause(workflow=workflow, actor=actor,
                     reason=f"Model alert {alert.pk}: {alert.message}"[:500])
        paused.append(use["workflow_id"])
    return paused


def alert_notify(*, alert_id: int) -> int:
    """E-mail the rule's team (or the admins) and post to the team's webhook; best
    effort. Returns the e-mails sent."""
    from apps.approvals.notifications import team_webhook_post, users_mail

    alert = Alert.objects.select_related("rule", "rule__version", "rule__notify_team").filter(
        pk=alert_id).first()
    if alert is None:
        return 0
    team = alert.rule.notify_team
    users = (team.members.filter(is_active=True) if team else
             get_user_model().objects.filter(is_active=True, groups__name=ADMIN))
    url = f"{settings.WEFT_PUBLIC_URL.rstrip('/')}/console/models/alerts/"
    subject = f"Model alert: {alert.message}"[:200]
    body = f"{alert.message}\n\nValue: {alert.value:.4f}\n\nOpen the alerts: {url}\n"
    sent = users_mail(users=users.distinct(), subject=subject, body=body,
                      about=f"alert {alert.pk}")
    if team and team.webhook_url:
        team_webhook_post(team.webhook_url, {"text": f"{subject} <{url}|Open the alerts>"})
    return sent


def model_alert_triggers_fire(*, alert: dict[str, Any]) -> int:
    """Start the workflows whose trigger is `trigger.model_alert` and that watch this
    alert's model and kind."""
    from apps.runs.services import run_start
    from apps.runs.services.plans import compile_version
    from apps.runs.triggers import latest_versions_with

    started = 0
    for version in latest_versions_with(TRIGGER):
        compiled = compile_version(version)
        trigger = compiled.graph.trigger
        if not trigger or compiled.types[trigger].type != TRIGGER:
            continue
        config = compiled.configs[trigger]
        if (config.model and config.model != alert["model"]) or \
                (config.kinds and alert["kind"] not in config.kinds):
            continue
        try:
            with transaction.atomic():
                run_start(workflow=version.workflow, version=version, input=alert,
                          trigger="model_alert", trigger_ref=str(alert["alert_id"]))
            started += 1
        except Unprocessable:
            logger.warning("model alert trigger refused", exc_info=True)
    return started


def _changed_already(alert: Alert) -> Conflict:
    """Someone acted on the alert first: say who did what, and when."""
    alert = Alert.objects.select_related("acknowledged_by", "resolved_by").get(pk=alert.pk)
    who, when = ((alert.resolved_by, alert.resolved_at) if alert.status == AlertStatus.RESOLVED
                 else (alert.acknowledged_by, alert.acknowledged_at))
    name = who.get_username() if who else "someone"
    return Conflict(f"This alert was already {alert.status} by {name}"
                    f"{f' at {when.isoformat()}' if when else ''}.",
                    code=f"alert_{alert.status}", status=alert.status)


def _alert_move(*, alert: Alert, user, action: str, allowed: tuple[str, ...],
                **changes: Any) -> Alert:
    """A compare-and-set: the alert moves only from one of `allowed` (two people acting
    at once, or a page opened before a change, get a 409), stamped by the database's clock."""
    with transaction.atomic():
        if not Alert.objects.filter(pk=alert.pk, status__in=allowed).update(**changes):
            raise _changed_already(alert)
        alert = Alert.objects.select_related("rule", "rule__version").get(pk=alert.pk)
        audit_record(action=action, actor=user, target=alert, data={"rule": alert.rule.name})
    return alert


def alert_acknowledge(*, alert: Alert, user) -> Alert:
    return _alert_move(alert=alert, user=user, action="model_alert.acknowledge",
                       allowed=(AlertStatus.OPEN,), status=AlertStatus.ACKNOWLEDGED,
                       acknowledged_by=user, acknowledged_at=Now())


def alert_resolve(*, alert: Alert, user) -> Alert:
    return _alert_move(alert=alert, user=user, action="model_alert.resolve",
                       allowed=(AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED),
                       status=AlertStatus.RESOLVED, resolved_by=user, resolved_at=Now())
