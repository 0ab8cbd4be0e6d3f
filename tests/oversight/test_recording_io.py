"""Model calls made on the I/O executor's event loop are recorded as on the threaded
path, failures included, also those refused before a request is sent."""

from __future__ import annotations

import pytest
from django.db import connection as db_connection

from apps.oversight.models import ModelCall
from apps.oversight.recording import model_calls_flush
from apps.runs import io_executor, services
from apps.runs.models import NodeRun, Run
from tests.oversight.conftest import classify_flow, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_inputs_the_model_cannot_take_are_recorded_as_a_failed_call(model_server, publish):
    # Words where the invoice model takes numbers: refused while encoding the request.
    graph = classify_flow(model_server.name, model="invoice_risk",
                          inputs={"features": "input.texts"})
    run = services.run_start(workflow=publish(graph),
                             input={"texts": [["a", "b"], ["c", "d"]]})
    row = NodeRun.objects.get(run=run, node_id="classify")
    executor = io_executor.IOExecutor(concurrency=4, per_host=4)
    try:
        executor.execute(node_run_id=row.pk, worker="recording-test")
    finally:
        db_connection.close()
    wait_for(lambda: Run.objects.get(pk=run.pk).status == "failed", what="the run to fail")
    model_calls_flush()
    row.refresh_from_db()
    (call,) = ModelCall.objects.filter(run_id=run.pk)
    assert call.error_type == row.error["type"], row.error
    assert (call.model, call.node_id, call.batch_size) == ("invoice_risk", "classify", 2)
    assert call.label is None
