"""The services the engine plugs into NodeContext: `triton_resolve` finds the
server row by name, `inference_node_record` audits each call as the model."""

from __future__ import annotations

import threading

import pytest

from apps.inference.nodes import TritonInference, TritonInferenceConfig
from apps.nodes.base import NodeContext
from apps.runs.node_services import node_services


def test_the_node_runs_through_the_engine_services(registered_server, audit_since):
    context = NodeContext(
        run_id="run-7", node_id="classify", attempt=1,
        inputs={"in": {"subject": "Everything is down", "body": "All customers affected"}},
        services=node_services())  # exactly what the engine hands every node
    config = TritonInferenceConfig(server=registered_server.name, model="ticket_urgency",
                                   inputs={"text": 'input.subject + ". " + input.body'})
    out = TritonInference().execute(context, config).ports["out"]
    (event,) = audit_since(action="inference.call")
    assert (event.actor_type, event.run_id) == ("model", "run-7")
    assert event.data["label"] == out["label"]
    assert event.data["node_id"] == "classify"
    assert event.data["via"] == "node"


def _classify_run(publish, server_name: str):
    from apps.runs import services
    from apps.runs.models import NodeRun
    from tests.fixtures.runs import flow

    workflow = publish(flow(("start", "trigger.manual"),
                            ("classify", "inference.triton",
                             {"server": server_name, "model": "ticket_urgency",
                              "inputs": {"text": "input.text"}}),
                            edges=[("start", "classify")]))
    run = services.run_start(workflow=workflow, input={"text": "Everything is down"})
    return run, NodeRun.objects.get(run=run, node_id="classify")


def test_a_worker_records_the_call_with_the_result_it_settles(
        registered_server, audit_since, publish, django_capture_on_commit_callbacks):
    """What a worker does with a queued inference node: the call's audit event is
    written in the transaction that records the node's result, once."""
    from apps.runs import services
    from apps.runs.models import Run

    run, row = _classify_run(publish, registered_server.name)
    with django_capture_on_commit_callbacks():
        assert services.node_run_execute(node_run_id=row.pk, worker="test") == "succeeded"
    assert Run.objects.get(pk=run.pk).status == "succeeded"
    (event,) = audit_since(action="inference.call")
    assert event.run_id == str(run.pk)
    assert event.data["node_id"] == "classify"
    row.refresh_from_db()
    assert event.data["label"] == row.outputs["out"]["label"]


def test_a_call_is_audited_even_when_its_run_was_cancelled_meanwhile(
        registered_server, audit_since, publish, node_spy,
        django_capture_on_commit_callbacks):
    """The model was called: the event stays although the late result is dropped."""
    from apps.runs import services
    from apps.runs.models import Run

    run, row = _classify_run(publish, registered_server.name)
    node_spy("inference.triton", after=lambda context, result: services.run_cancel(
        run=Run.objects.get(pk=run.pk)))  # someone cancels meanwhile
    with django_capture_on_commit_callbacks():
        assert services.node_run_execute(node_run_id=row.pk, worker="test") == "dropped"
    assert Run.objects.get(pk=run.pk).status == "cancelled"
    row.refresh_from_db()
    assert row.status == "cancelled"
    assert row.outputs is None
    (event,) = audit_since(action="inference.call")
    assert event.run_id == str(run.pk)


def test_a_model_output_that_cannot_be_stored_fails_the_node_at_once(
        registered_server, publish, django_capture_on_commit_callbacks):
    """A model that answers with a NUL character (here the echo model, given one):
    the node fails at once naming where, never a database error and a redelivery."""
    from apps.runs import services
    from apps.runs.models import NodeRun, Run
    from tests.fixtures.runs import flow

    workflow = publish(flow(("start", "trigger.manual"),
                            ("echo", "inference.triton",
                             {"server": registered_server.name, "model": "echo",
                              "inputs": {"bytes": "['a\\x00b']"}, "outputs": ["bytes_echo"]}),
                            edges=[("start", "echo")]))
    run = services.run_start(workflow=workflow, input={})
    row = NodeRun.objects.get(run=run, node_id="echo")
    with django_capture_on_commit_callbacks():
        assert services.node_run_execute(node_run_id=row.pk, worker="test") == "failed"
    run = Run.objects.get(pk=run.pk)
    assert run.status == "failed"
    assert (run.error["node_id"], run.error["type"]) == ("echo", "invalid_output")
    assert "outputs.out" in run.error["message"]
    assert "NUL" in run.error["message"]
    assert NodeRun.objects.get(pk=row.pk).delivery_count == 1


@pytest.mark.django_db(transaction=True)
def test_a_model_call_settles_while_another_process_holds_the_audit_chain(
        registered_server, publish, settings):
    """The audit chain is one lock for every process. A node's model call is audited in
    the transaction that settles the node, so it must not wait on that lock (DECISIONS:
    the chain must not serialise throughput): here another session holds it for as long
    as the test likes, and the node settles regardless. Its event joins the chain once
    the lock is free (moved there by this process's chainer thread), with the run's
    id, and the chain verifies."""
    import time

    import psycopg
    from django.db import connection

    from apps.audit.models import AuditEvent
    from apps.audit.services import CHAIN_LOCK_KEY
    from apps.audit.verification import chain_verify
    from apps.runs import services
    from apps.runs.models import Run

    settings.WEFT_AUDIT_CHAIN_THREAD = True  # as in every process but the tests'
    run, row = _classify_run(publish, registered_server.name)
    outcome: list[str] = []

    def settle():
        try:
            outcome.append(services.node_run_execute(node_run_id=row.pk, worker="test"))
        finally:
            connection.close()

    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"},
                         autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [CHAIN_LOCK_KEY])
        worker = threading.Thread(target=settle)
        worker.start()
        worker.join(20)
        settled_while_locked = not worker.is_alive()
        holder.execute("SELECT pg_advisory_unlock(%s)", [CHAIN_LOCK_KEY])
    worker.join(20)
    assert settled_while_locked, "the node waited for the audit chain's lock"
    assert outcome == ["succeeded"]
    assert Run.objects.get(pk=run.pk).status == "succeeded"
    events = AuditEvent.objects.filter(action="inference.call", run_id=str(run.pk))
    deadline = time.monotonic() + 10
    while not events.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    from apps.audit.models import AuditPending

    assert not AuditPending.objects.exists()
    (event,) = events
    assert (event.actor_type, event.data["node_id"], event.data["via"]) == (
        "model", "classify", "node")
    assert chain_verify().ok
