"""What people change in model oversight: a version's drift thresholds and pinned
reference window (admins), alert rules (editors). Each change is audited."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.audit.services import audit_record
from apps.core.errors import Unprocessable
from apps.oversight.models import AlertRule, ModelVersion

VERSION_FIELDS = ("psi_threshold", "kl_threshold", "reference_start", "reference_end")


@transaction.atomic
def model_version_update(*, version: ModelVersion, user, **changes: Any) -> ModelVersion:
    changed = [key for key in VERSION_FIELDS if key in changes]
    for key in changed:
        setattr(version, key, changes[key])
    if bool(version.reference_start) != bool(version.reference_end) or (
            version.reference_start and version.reference_end <= version.reference_start):
        raise Unprocessable("A pinned reference window needs a start before its end.",
                            code="invalid_window")
    version.save(update_fields=changed or None)
    audit_record(action="model_version.update", actor=user, target=version,
                 data={key: str(getattr(version, key)) for key in changed})
    return version


@transaction.atomic
def alert_rule_create(*, version: ModelVersion, user, name: str, kind: str,
                      threshold: float | None = None, window_hours: int = 24,
                      pause_workflows: bool = False, notify_team: Any = None) -> AlertRule:
    if kind != "drift" and threshold is None:
        raise Unprocessable("This kind of rule needs a threshold.", code="invalid_rule")
    rule = AlertRule.objects.create(version=version, name=name, kind=kind, threshold=threshold,
                                    window_hours=window_hours, pause_workflows=pause_workflows,
                                    notify_team_id=notify_team, created_by=user)
    audit_record(action="model_alert_rule.create", actor=user, target=rule,
                 data={"kind": kind, "threshold": threshold, "window_hours": window_hours,
                       "pause_workflows": pause_workflows, "model": str(version)})
    return rule


@transaction.atomic
def alert_rule_delete(*, rule: AlertRule, user) -> None:
    audit_record(action="model_alert_rule.delete", actor=user, target=rule,
                 data={"kind": rule.kind, "model": str(rule.version)})
    rule.delete()
