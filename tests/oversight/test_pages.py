"""The model pages and their API: a model called by a workflow shows up with its calls,
its charts' data, the workflow that uses it; editors add alert rules, admins pin the
reference window; alerts are acknowledged and resolved with who and when."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.html import escape

from apps.oversight.alerts import alert_fire, model_versions_check
from apps.oversight.models import Alert, AlertRule, ModelCall, ModelVersion
from apps.oversight.recording import model_calls_flush
from apps.oversight.rollup import model_hours_rollup
from apps.runs import services
from apps.runs.models import NodeRun
from tests.oversight.conftest import classify_flow

pytestmark = pytest.mark.django_db

TEXTS = ["Everything is down", "Please send the invoice again", "Payment page crashes"]


@pytest.fixture
def called(model_server, publish, django_capture_on_commit_callbacks):
    """ticket_urgency called by a published workflow: 3 calls an hour ago, 3 now."""
    workflow = publish(classify_flow(model_server.name), name="Ticket triage")
    for _ in range(2):
        run = services.run_start(workflow=workflow, input={"texts": TEXTS})
        row = NodeRun.objects.get(run=run, node_id="classify")
        with django_capture_on_commit_callbacks():
            services.node_run_execute(node_run_id=row.pk, worker="test")
        model_calls_flush()
        if not ModelCall.objects.filter(at__lt=timezone.now() - timedelta(minutes=30)).exists():
            ModelCall.objects.update(at=timezone.now() - timedelta(hours=1))
    model_hours_rollup()
    model_versions_check()
    return ModelVersion.objects.get(model="ticket_urgency"), workflow


def test_the_list_shows_the_model_with_its_last_24_hours(called, browser_for):
    version, _workflow = called
    page = browser_for("editor").get("/console/models/")
    assert page.status_code == 200
    (row,) = page.context["versions"]
    assert (row["model"], row["calls"], row["errors"]) == ("ticket_urgency", 6, 0)
    assert row["p50_ms"] > 0
    assert row["drift"] == "too few calls"
    assert f"/console/models/{version.pk}/" in page.content.decode()


def test_the_version_page_draws_from_the_series_api(called, browser_for, api_client, create_user):
    version, workflow = called
    page = browser_for("editor").get(f"/console/models/{version.pk}/")
    html = page.content.decode()
    assert f'data-series-url="/api/models/{version.pk}/series/"' in html
    assert "Ticket triage" in html
    assert "<code>classify</code>" in html
    assert "/static/dist/" in html  # the chart bundle
    api_client.force_authenticate(create_user(roles=["editor"]))
    data = api_client.get(f"/api/models/{version.pk}/series/").json()
    assert [h["calls"] for h in data["hours"]] == [3, 3]
    assert sum(data["confidence"]["current"]) == 6
    assert sum(data["labels"]["current"].values()) == 6
    assert data["shadows"] == []
    detail = api_client.get(f"/api/models/{version.pk}/").json()
    assert detail["usage"][0]["nodes"] == [{"id": "classify", "name": "classify"}]


def test_editors_add_rules_and_admins_pin_the_reference_window(called, browser_for):
    version, _workflow = called
    editor = browser_for("editor")
    response = editor.post(f"/console/models/{version.pk}/rules/", {
        "name": "slow", "kind": "latency_p99", "threshold": "0.01", "window_hours": "24"})
    assert response.status_code == 302
    rule = AlertRule.objects.get(version=version)
    assert (rule.kind, rule.threshold, rule.created_by) == ("latency_p99", 0.01, editor.user)
    refused = editor.post(f"/console/models/{version.pk}/rules/", {
        "name": "errors", "kind": "error_rate", "window_hours": "24"})
    assert refused.status_code == 400  # an error-rate rule needs a threshold
    assert editor.post(f"/console/models/{version.pk}/settings/", {}).status_code == 403
    start = timezone.now() - timedelta(days=2)
    response = browser_for("admin").post(f"/console/models/{version.pk}/settings/", {
        "psi_threshold": "0.3", "kl_threshold": "0.2",
        "reference_start": start.strftime("%Y-%m-%d %H:%M"),
        "reference_end": (start + timedelta(days=1)).strftime("%Y-%m-%d %H:%M")})
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.psi_threshold == 0.3
    assert version.reference_start is not None
    assert model_versions_check() == 1  # the latency rule: any call is slower than 0.01 ms
    assert Alert.objects.get(rule=rule).status == "open"


def test_alerts_are_acknowledged_and_resolved_with_who_and_when(called, browser_for):
    version, _workflow = called
    rule = AlertRule.objects.create(version=version, name="errors", kind="error_rate",
                                    threshold=0.1)
    alert = alert_fire(rule=rule, value=0.5)
    editor = browser_for("editor")
    page = editor.get("/console/models/alerts/")
    assert escape(alert.message) in page.content.decode()
    editor.post(f"/console/models/alerts/{alert.pk}/acknowledge/")
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by) == ("acknowledged", editor.user)
    editor.post(f"/console/models/alerts/{alert.pk}/resolve/")
    alert.refresh_from_db()
    assert alert.status == "resolved"
    assert alert.resolved_at is not None
    listed = editor.get("/console/models/alerts/?status=resolved").content.decode()
    assert f"resolved by {editor.user.username}" in listed
