"""A real Celery worker runs an HTTP node that sends an API key as a query parameter:
the worker's own log (Celery replaces Django's log handlers) never shows the key,
though httpx logs every request URL at INFO."""

import os
import time
from urllib.parse import quote, quote_plus

import pytest

from apps.runs import services
from apps.runs.models import NodeRun, Run
from tests.fixtures.runs import flow

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

KEY = "key/worker 7777+&="


@pytest.fixture(scope="module")
def loopback_worker(request):
    """The module's worker, started with loopback allowed for the HTTP node."""
    before = os.environ.get("WEFT_HTTP_ALLOW_HOSTS")
    os.environ["WEFT_HTTP_ALLOW_HOSTS"] = "127.0.0.1/32"
    try:
        worker = request.getfixturevalue("celery_worker_process")
    finally:
        if before is None:
            os.environ.pop("WEFT_HTTP_ALLOW_HOSTS", None)
        else:
            os.environ["WEFT_HTTP_ALLOW_HOSTS"] = before
    return worker


def test_worker_log_lines_mask_the_credential(loopback_worker, http_receiver, publish,
                                              create_credential):
    echo = http_receiver()
    credential = create_credential(kind="api_key",
                                   secret={"value": KEY, "query_param": "api_key"})
    workflow = publish(flow(("start", "trigger.manual"),
                            ("fetch", "http.request", {"url": echo.url + "/echo",
                                                       "credential": str(credential.pk)}),
                            edges=[("start", "fetch")]))
    run = services.run_start(workflow=workflow)
    deadline = time.monotonic() + 60
    while Run.objects.get(pk=run.pk).status not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, loopback_worker.log()[-2000:]
        time.sleep(0.2)
    assert Run.objects.get(pk=run.pk).status == "succeeded", loopback_worker.log()[-2000:]
    assert quote_plus(KEY) in echo.seen[0]["path"]  # the key did go to its host
    time.sleep(0.5)  # let the worker flush its log line
    log = (loopback_worker.tmp / "worker.log").read_text(errors="replace")
    assert "HTTP Request: GET" in log
    for form in (KEY, quote(KEY, safe=""), quote_plus(KEY)):
        assert form not in log
    stored = str(NodeRun.objects.filter(run=run).values_list("outputs", flat=True)[::1])
    assert "***" in stored
    for form in (KEY, quote(KEY, safe=""), quote_plus(KEY)):
        assert form not in stored
