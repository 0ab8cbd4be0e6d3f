"""Against a real worker and the real Triton server: a drifted stream of invoices (the
data generator's shifted population) raises a drift alert that notifies, starts a
`trigger.model_alert` workflow and pauses the workflows that use the model; shadow
calls are recorded beside the primary's, and a failing shadow leaves the run as it was."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.oversight.models import Alert, AlertRule, CallRole, ModelCall, ModelVersion, RuleKind
from apps.oversight.rollup import model_hours_rollup
from apps.oversight.selectors import shadow_compare
from apps.runs import services
from apps.runs.models import EngineSwitch, Run
from models.datasets import invoices
from tests.fixtures.workflows import flow
from tests.oversight.conftest import invoice_flow, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _send_invoices(workflow, *, runs: int, shift: float, seed: int) -> list[Run]:
    started = []
    for i in range(runs):
        features = invoices(50, seed=seed + i, shift=shift).features.tolist()
        started.append(services.run_start(workflow=workflow, input={"features": features}))
    return started


def _finished(runs):
    return Run.objects.filter(pk__in=[r.pk for r in runs],
                              status__in=["succeeded", "failed"]).count() == len(runs)


def test_a_drifted_stream_raises_an_alert_that_notifies_starts_and_pauses(
        oversight_worker, model_server, publish, receiver, create_user):
    from apps.approvals.models import Team
    from celery_worker.app import app

    scoring = publish(invoice_flow(model_server.name), name="Invoice scoring")
    paging = publish(flow(("alert", "trigger.model_alert", {"kinds": ["drift"]})),
                     name="Page the model owner")
    team = Team.objects.create(name="Model owners", webhook_url=receiver.url)
    team.members.add(create_user(roles=["editor"], email="owner@example.com"))

    reference = _send_invoices(scoring, runs=4, shift=0.0, seed=100)
    wait_for(lambda: _finished(reference), what="the reference runs")
    wait_for(lambda: ModelCall.objects.filter(model="invoice_risk").count() >= 200,
             what="the reference calls to be recorded by the worker")
    ModelCall.objects.filter(model="invoice_risk").update(at=timezone.now() - timedelta(days=3))
    drifted = _send_invoices(scoring, runs=4, shift=1.0, seed=200)
    wait_for(lambda: _finished(drifted), what="the drifted runs")
    wait_for(lambda: ModelCall.objects.filter(model="invoice_risk").count() >= 400,
             what="the drifted calls to be recorded")
    assert all(r.status == "succeeded" for r in Run.objects.filter(workflow=scoring))

    model_hours_rollup()
    version = ModelVersion.objects.get(model="invoice_risk")
    rule = AlertRule.objects.create(version=version, name="invoice drift", kind=RuleKind.DRIFT,
                                    pause_workflows=True, notify_team=team)
    app.send_task("oversight.check")  # what beat sends on its schedule
    alert = wait_for(lambda: Alert.objects.filter(rule=rule).first(), what="the alert")

    version.refresh_from_db()
    assert version.drift["drifted"]
    assert version.drift["psi_labels"] > 0.2
    assert alert.value > 0.2
    assert "invoice_risk" in alert.message
    assert alert.paused_workflows == [str(scoring.pk)]
    assert EngineSwitch.objects.get(workflow=scoring).paused
    actor = f"model-alert-rule:{rule.pk}"
    assert AuditEvent.objects.filter(action="model_alert.fire", actor_id=actor).exists()
    assert AuditEvent.objects.filter(action="engine.pause", actor_id=actor,
                                     target_id=str(scoring.pk)).exists()
    started = wait_for(lambda: Run.objects.filter(workflow=paging, trigger="model_alert").first(),
                       what="the model-alert workflow")
    assert started.input["alert_id"] == alert.pk
    assert started.input["kind"] == "drift"
    wait_for(lambda: receiver.keys(), what="the team's webhook")
    wait_for(lambda: "Model alert" in oversight_worker.log(), what="the e-mail (console)")
    # A second check while the alert is open raises no second one.
    app.send_task("oversight.check")
    assert Alert.objects.filter(rule=rule).count() == 1


def test_shadow_calls_are_recorded_beside_the_primary_and_a_failing_one_changes_nothing(
        oversight_worker, model_server, publish):
    shadowed = publish(invoice_flow(model_server.name, shadow={
        "server": model_server.name, "model": "invoice_risk", "version": ""}), name="Shadowed")
    broken = publish(invoice_flow(model_server.name, shadow={
        "server": model_server.name, "model": "no_such_model", "version": ""}),
        name="Broken shadow")
    features = invoices(20, seed=5).features.tolist()
    good = services.run_start(workflow=shadowed, input={"features": features})
    bad = services.run_start(workflow=broken, input={"features": features})
    wait_for(lambda: _finished([good, bad]), what="the runs")
    good.refresh_from_db()
    bad.refresh_from_db()
    assert (good.status, bad.status) == ("succeeded", "succeeded")
    wait_for(lambda: ModelCall.objects.filter(run_id=good.pk, role=CallRole.SHADOW).count() == 20,
             what="the shadow calls")
    (failed,) = wait_for(lambda: list(ModelCall.objects.filter(run_id=bad.pk,
                                                               role=CallRole.SHADOW)),
                         what="the failed shadow call")
    assert failed.error_type == "model_not_found"
    assert failed.batch_size == 20
    assert ModelCall.objects.filter(run_id=bad.pk, role=CallRole.PRIMARY,
                                    error_type="").count() == 20
    model_hours_rollup()
    version = ModelVersion.objects.get(server=model_server.name, model="invoice_risk")
    (compare,) = [c for c in shadow_compare(version=version) if c["model"] == "invoice_risk"]
    assert compare["pairs"] == 20
    assert compare["agreement"] == 1.0
    assert sum(compare["shadow_confidence"]) == 20
