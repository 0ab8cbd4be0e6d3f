"""Every inference the node makes is recorded, one row per item, with the label and
confidence the model gave; failures with their error type; a recorder that fails never
fails the run; the hourly roll-up sums what was recorded, test calls left out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.oversight.models import ModelCall, ModelHour, ModelVersion
from apps.oversight.recording import model_calls_flush
from apps.oversight.rollup import model_calls_retention, model_hours_rollup
from apps.runs import services
from apps.runs.models import NodeRun, Run
from tests.oversight.conftest import classify_flow

pytestmark = pytest.mark.django_db

TEXTS = ["Everything is down, all customers affected", "Please update my invoice address",
         "Login fails for the whole team since the update"]


def _run(publish, graph, input, django_capture_on_commit_callbacks):
    workflow = publish(graph)
    run = services.run_start(workflow=workflow, input=input)
    row = NodeRun.objects.get(run=run, node_id="classify")
    with django_capture_on_commit_callbacks():
        outcome = services.node_run_execute(node_run_id=row.pk, worker="test")
    model_calls_flush()
    row.refresh_from_db()
    return workflow, run, row, outcome


def test_each_item_of_a_batch_is_recorded_with_its_label_and_confidence(
        model_server, publish, django_capture_on_commit_callbacks):
    workflow, run, row, outcome = _run(publish, classify_flow(model_server.name),
                                       {"texts": TEXTS}, django_capture_on_commit_callbacks)
    assert outcome == "succeeded"
    items = row.outputs["out"]["items"]
    calls = list(ModelCall.objects.filter(run_id=run.pk).order_by("item"))
    assert [c.item for c in calls] == [0, 1, 2]
    assert [c.label for c in calls] == [i["label"] for i in items]
    assert [c.confidence for c in calls] == pytest.approx([i["confidence"] for i in items])
    first = calls[0]
    assert (first.server, first.model, first.node_id) == (model_server.name, "ticket_urgency",
                                                          "classify")
    assert first.model_version == row.outputs["out"]["version"]
    assert (first.workflow_id, first.workflow_version) == (workflow.pk, 1)
    assert first.batch_size == 3
    assert first.latency_ms > 0
    assert not first.is_test
    assert first.error_type == ""


def test_a_failed_call_is_recorded_with_its_error_type_and_the_run_fails_as_before(
        model_server, publish, django_capture_on_commit_callbacks):
    # Words where the invoice model takes numbers: Triton is called and refuses them.
    graph = classify_flow(model_server.name, model="invoice_risk",
                          inputs={"features": "input.texts"})
    _workflow, run, row, outcome = _run(publish, graph, {"texts": [TEXTS, TEXTS]},
                                        django_capture_on_commit_callbacks)
    assert outcome == "failed"
    (call,) = ModelCall.objects.filter(run_id=run.pk)
    assert call.error_type == row.error["type"], row.error
    assert call.label is None
    assert call.batch_size == 2


def test_a_recorder_that_fails_never_fails_the_run(model_server, publish, monkeypatch,
                                                   django_capture_on_commit_callbacks):
    from apps.oversight import recording

    def broken(*args, **kwargs):
        raise RuntimeError("the recorder is down")

    monkeypatch.setattr(recording, "_ensure_thread", broken)
    _workflow, run, row, outcome = _run(publish, classify_flow(model_server.name),
                                        {"texts": TEXTS[:1]}, django_capture_on_commit_callbacks)
    assert outcome == "succeeded"
    assert Run.objects.get(pk=run.pk).status == "succeeded"
    assert row.outputs["out"]["count"] == 1


def test_test_runs_are_flagged_and_left_out_of_the_aggregates(
        model_server, publish, create_user, django_capture_on_commit_callbacks):
    from apps.runs.test_runs import draft_run_start

    workflow, run, _row, _ = _run(publish, classify_flow(model_server.name), {"texts": TEXTS},
                                  django_capture_on_commit_callbacks)
    test_run = draft_run_start(workflow=workflow, user=create_user(roles=["editor"]),
                               input={"texts": TEXTS[:2]})
    row = NodeRun.objects.get(run=test_run, node_id="classify")
    with django_capture_on_commit_callbacks():
        services.node_run_execute(node_run_id=row.pk, worker="test")
    model_calls_flush()
    assert ModelCall.objects.filter(run_id=test_run.pk, is_test=True).count() == 2
    model_hours_rollup()
    (hour,) = ModelHour.objects.filter(model="ticket_urgency")
    assert hour.calls == 3
    assert hour.errors == 0
    assert sum(hour.labels.values()) == 3
    assert sum(hour.confidence_hist) == 3
    assert ModelVersion.objects.filter(model="ticket_urgency").exists()


def _backdate(run_id, hours: float) -> None:
    ModelCall.objects.filter(run_id=run_id).update(at=timezone.now() - timedelta(hours=hours))


def test_the_rollup_adds_what_arrived_since_the_last_one_per_hour(
        model_server, publish, django_capture_on_commit_callbacks):
    graph = classify_flow(model_server.name)
    _w, first, _r, _ = _run(publish, graph, {"texts": TEXTS}, django_capture_on_commit_callbacks)
    _backdate(first.pk, 3)
    model_hours_rollup()
    assert model_hours_rollup() == 0  # nothing new
    _w, second, _r, _ = _run(publish, graph, {"texts": TEXTS[:2]},
                             django_capture_on_commit_callbacks)
    _w, third, _r, _ = _run(publish, graph, {"texts": TEXTS[:1]},
                            django_capture_on_commit_callbacks)
    assert model_hours_rollup() == 3
    hours = list(ModelHour.objects.order_by("hour").values_list("calls", flat=True))
    assert hours == [3, 3]
    latest = ModelHour.objects.order_by("hour").last()
    assert sum(latest.latency_hist) == 3


def test_retention_deletes_old_call_records_and_keeps_the_aggregates(
        model_server, publish, settings, django_capture_on_commit_callbacks):
    settings.WEFT_MODEL_CALL_RETENTION_DAYS = 7
    graph = classify_flow(model_server.name)
    _w, old, _r, _ = _run(publish, graph, {"texts": TEXTS}, django_capture_on_commit_callbacks)
    _w, new, _r, _ = _run(publish, graph, {"texts": TEXTS}, django_capture_on_commit_callbacks)
    _backdate(old.pk, 24 * 8)
    model_hours_rollup()
    assert model_calls_retention() == 3
    assert ModelCall.objects.filter(run_id=new.pk).count() == 3
    assert sum(ModelHour.objects.values_list("calls", flat=True)) == 6


def test_retention_counts_days_by_the_database_clock_not_the_workers(
        model_server, publish, settings, monkeypatch, django_capture_on_commit_callbacks):
    settings.WEFT_MODEL_CALL_RETENTION_DAYS = 7
    _w, run, _r, _ = _run(publish, classify_flow(model_server.name), {"texts": TEXTS},
                          django_capture_on_commit_callbacks)
    _backdate(run.pk, 24 * 6)  # six days old: within the retention period
    model_hours_rollup()
    ahead = timezone.now() + timedelta(days=2)
    monkeypatch.setattr(timezone, "now", lambda: ahead)  # this worker's clock runs ahead
    assert model_calls_retention() == 0
    assert ModelCall.objects.filter(run_id=run.pk).count() == 3
