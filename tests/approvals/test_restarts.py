"""A run that waits for a person survives restarts of every process: the web server,
the Celery worker, beat and Redis are all stopped and started again while the task is
open; the decision, sent as a real HTTP request to the new web server, resumes the
run, and the real worker runs the node after the approval."""

from __future__ import annotations

import time

import httpx
import pytest

from apps.accounts.services import token_create
from apps.approvals.models import Task
from apps.runs import services as runs
from apps.runs.models import Run
from tests.fixtures.live import free_port, process_env, spawn, wait_http
from tests.fixtures.runs import flow

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _web(worker, tmp):
    port = free_port()
    env = process_env(REDIS_URL=worker.env["REDIS_URL"], WEFT_TEST_NODES="1")
    process = spawn(f"web-{port}", [worker.env.get("PYTHON", __import__("sys").executable),
                                    "-m", "uvicorn", "config.asgi:application", "--host",
                                    "127.0.0.1", "--port", str(port), "--lifespan", "off",
                                    "--no-access-log"], env, tmp)
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/healthz", process)
    return url, process


def _answers(app) -> bool:
    try:  # this process's broker connections died with the old Redis
        return bool(app.control.ping(timeout=0.5))
    except Exception:  # noqa: BLE001 - not up yet
        time.sleep(0.2)
        return False


def test_a_decision_resumes_a_run_after_every_process_restarted(
        celery_worker_process, tmp_path, publish, create_user, create_team):
    from celery_worker.app import app

    worker = celery_worker_process
    ann = create_user(username="ann", roles=["reviewer"])
    create_team(name="Billing", members=[ann])
    graph = flow(("start", "trigger.manual"),
                 ("review", "human.approval", {"title": "Refund {{ input.id }}",
                                               "assignee_teams": ["Billing"]}),
                 ("pay", "test.sleep", {"seconds": 0}),
                 edges=[("start", "review"), ("review", "approved", "pay", "in")])
    run = runs.run_start(workflow=publish(graph), input={"id": "R-1"})
    task = Task.objects.get(run=run)
    url, web = _web(worker, tmp_path)
    assert httpx.get(f"{url}/healthz").status_code == 200
    # Everything goes down and comes back while the run waits: only rows remain.
    web.stop()
    worker.stop()
    worker.stop_redis()
    worker.start_redis()
    worker.start()
    deadline = time.monotonic() + 60
    while not _answers(app):
        assert time.monotonic() < deadline, worker.log()
    url, web = _web(worker, tmp_path)
    try:
        token = token_create(user=ann, name="after-restart")[1]
        response = httpx.post(f"{url}/api/tasks/{task.pk}/decide/", timeout=30,
                              headers={"Authorization": f"Token {token}"},
                              json={"decision": "approved", "comment": "ok"})
        assert response.status_code == 200, response.text
        deadline = time.monotonic() + 60
        while Run.objects.get(pk=run.pk).status != "succeeded":
            assert time.monotonic() < deadline, (Run.objects.get(pk=run.pk).status,
                                                 worker.log())
            time.sleep(0.2)
    finally:
        web.stop()
    pay = run.node_runs.get(node_id="pay")
    assert pay.outputs["out"]["decided_by"] == "ann"
    assert pay.worker  # executed by the worker, not inline
