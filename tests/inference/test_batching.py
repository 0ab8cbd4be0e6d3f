"""Model calls on the I/O executor's event loop against the real Triton server: the
rows of concurrent runs calling the same model go in fewer requests than runs, and
each run gets its own row's answer."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection as db_connection

from apps.inference.client import TritonClient
from apps.runs import io_executor, services
from apps.runs.models import NodeRun, Run
from tests.fixtures.runs import flow

pytestmark = pytest.mark.django_db(transaction=True)

TEXTS = ["Everything is down", "All customers affected, urgent", "A question about invoices",
         "Thanks for the help", "Production outage now", "Please update my address",
         "The site is slow for some users", "Refund request"]


def _requests(triton, model: str) -> int:
    """Requests the server answered for the model (its own statistics)."""
    with TritonClient(triton.connection("http")) as client:
        stats = client._call(model, "get_inference_statistics", model)
    return sum(int(entry["inference_stats"]["success"]["count"])
               for entry in stats["model_stats"])


def _deliver(executor: io_executor.IOExecutor, pks: list[int]) -> None:
    def one(pk: int) -> str:
        try:
            return executor.execute(node_run_id=pk, worker="batching-test")
        finally:
            db_connection.close()

    with ThreadPoolExecutor(16) as pool:  # as a worker's delivery threads, at once
        assert set(pool.map(one, pks)) == {"submitted"}


def _finished(ids) -> bool:
    return not Run.objects.filter(pk__in=ids).exclude(
        status__in=["succeeded", "failed", "cancelled"]).exists()


@pytest.mark.parametrize("linger_ms", [20.0, 0.0])
def test_concurrent_runs_calling_one_model_share_requests_and_get_their_own_rows(
        registered_server, triton, client, publish, settings, linger_ms):
    settings.WEFT_INFERENCE_LINGER_MS = linger_ms
    workflow = publish(flow(("start", "trigger.manual"),
                            ("classify", "inference.triton",
                             {"server": registered_server.name, "model": "ticket_urgency",
                              "inputs": {"text": "input.text"}}),
                            edges=[("start", "classify")]))
    runs = [services.run_start(workflow=workflow, input={"text": f"{TEXTS[i % 8]} #{i}"})
            for i in range(96)]
    pks = [NodeRun.objects.get(run=run, node_id="classify").pk for run in runs]
    executor = io_executor.IOExecutor(concurrency=200, per_host=32)
    before = _requests(triton, "ticket_urgency")
    _deliver(executor, pks)
    deadline = time.monotonic() + 60
    while not _finished([run.pk for run in runs]) and time.monotonic() < deadline:
        time.sleep(0.05)
    sent = _requests(triton, "ticket_urgency") - before
    for run in runs:
        run.refresh_from_db()
        assert run.status == "succeeded", run.error
        out = NodeRun.objects.get(run=run, node_id="classify").outputs["out"]
        alone = client.infer("ticket_urgency", {"text": run.input["text"]}).predictions[0]
        assert out["label"] == alone.label
        assert out["confidence"] == pytest.approx(alone.confidence, rel=1e-5)
    if linger_ms:
        # 96 rows in requests of up to the model's max batch size, not one each. A wide
        # bound: on a starved machine the linger closes batches early (27 requests seen
        # at load 15); without grouping it is 96. The tight figure lives in bench/.
        assert sent <= 96 / 2, sent
    else:
        assert sent == 96


def test_a_call_to_an_idle_model_goes_at_once_and_calls_made_meanwhile_are_grouped(
        connection, client):
    """No linger for a lone call: its request is sent as it is made. Calls made while
    it is answered wait for the next request together."""
    import asyncio

    import numpy as np

    from apps.inference.batching import TritonBatcher

    spec = client.model_spec("ticket_urgency")
    row = {"text": np.array([[b"Production is down"]], dtype=np.object_)}

    async def turns():  # the loop runs what is ready (no network answer comes this fast)
        for _ in range(3):
            await asyncio.sleep(0)

    async def scenario():
        batcher = TritonBatcher(connection)
        try:
            first = asyncio.ensure_future(batcher.infer(spec, "", row, rows=1, linger_s=60))
            await turns()  # the call made: its request goes out now
            sent_at_once = batcher.requests
            others = [asyncio.ensure_future(batcher.infer(spec, "", row, rows=1, linger_s=0.05))
                      for _ in range(5)]
            await turns()
            held = batcher.requests
            answers = await asyncio.wait_for(asyncio.gather(first, *others), 30)
            return sent_at_once, held, batcher.requests, answers
        finally:
            await batcher.close()

    with ThreadPoolExecutor(1) as pool:  # a loop of its own, whatever this thread has
        sent_at_once, held, total, answers = pool.submit(asyncio.run, scenario()).result(60)
    assert sent_at_once == 1  # not held for its 60 s linger
    assert held == 1  # the five made while it was answered wait for the next request
    assert total == 2
    labels = {str(answer[1]["label"][0][0]) for answer in answers}
    assert len(labels) == 1  # each call got its row of the same input's answer
