"""Alerts and rules through the API: an alert is acknowledged or resolved once (a second
admin, or a stale page, gets 409 and changes nothing), and a rule's notify team must
exist."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.core.errors import Conflict
from apps.oversight import alerts
from apps.oversight.models import Alert, AlertRule, ModelVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def version():
    return ModelVersion.objects.create(server="models", model="invoice_risk", model_version="1",
                                       first_seen_at=timezone.now())


@pytest.fixture
def alert(version):
    rule = AlertRule.objects.create(version=version, name="errors", kind="error_rate",
                                    threshold=0.1)
    return alerts.alert_fire(rule=rule, value=0.5)


def _audited(alert, action: str) -> int:
    return AuditEvent.objects.filter(action=action, target_id=str(alert.pk)).count()


def test_two_admins_acknowledging_at_once_one_wins_the_other_gets_409(alert, client_for):
    first, second = client_for("editor"), client_for("editor")
    # Both read the open alert before either acknowledges it (two pages, two requests).
    seen_by_first = Alert.objects.get(pk=alert.pk)
    seen_by_second = Alert.objects.get(pk=alert.pk)
    alerts.alert_acknowledge(alert=seen_by_first, user=first.user)
    with pytest.raises(Conflict) as refused:
        alerts.alert_acknowledge(alert=seen_by_second, user=second.user)
    assert refused.value.status_code == 409
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by) == ("acknowledged", first.user)
    assert _audited(alert, "model_alert.acknowledge") == 1
    answer = second.post(f"/api/model-alerts/{alert.pk}/acknowledge/")
    assert answer.status_code == 409, answer.content
    assert answer.json()["code"] == "alert_acknowledged"
    assert first.user.username in answer.json()["detail"]


def test_a_resolved_alert_is_not_acknowledged_again(alert, client_for):
    admin = client_for("admin")
    stale = Alert.objects.get(pk=alert.pk)  # a page opened while the alert was open
    assert admin.post(f"/api/model-alerts/{alert.pk}/resolve/").status_code == 200
    with pytest.raises(Conflict) as refused:
        alerts.alert_acknowledge(alert=stale, user=admin.user)
    assert refused.value.status_code == 409
    answer = admin.post(f"/api/model-alerts/{alert.pk}/acknowledge/")
    assert answer.status_code == 409, answer.content
    assert answer.json()["code"] == "alert_resolved"
    again = admin.post(f"/api/model-alerts/{alert.pk}/resolve/")
    assert again.status_code == 409
    alert.refresh_from_db()
    assert alert.status == "resolved"
    assert alert.acknowledged_by is None
    assert _audited(alert, "model_alert.resolve") == 1
    assert _audited(alert, "model_alert.acknowledge") == 0


def test_the_alerts_page_says_when_someone_else_acted_first(alert, browser_for):
    admin = browser_for("admin")
    assert admin.post(f"/console/models/alerts/{alert.pk}/resolve/").status_code == 302
    page = admin.post(f"/console/models/alerts/{alert.pk}/acknowledge/", follow=True)
    assert page.status_code == 200
    assert "already resolved" in page.content.decode()


def test_a_rule_naming_an_unknown_team_is_refused_naming_the_field(version, client_for):
    editor = client_for("editor")
    answer = editor.post(f"/api/models/{version.pk}/rules/", {
        "name": "errors", "kind": "error_rate", "threshold": 0.1,
        "notify_team": str(uuid.uuid4())}, format="json")
    assert answer.status_code == 400, answer.content
    assert "notify_team" in answer.json()["errors"]
    assert not AlertRule.objects.filter(version=version).exists()
