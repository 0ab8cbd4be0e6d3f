"""Hostile expressions through the real web server (uvicorn, tests/fixtures/live.py):
the check API, validate and publish, and a run's node, each while another client polls
/healthz. The web process must keep answering (100 ms is the target; asserted here only
as a wide liveness bound, see DECISIONS.md) and every answer is a 4xx/2xx naming the
field and the limit, never a 500."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import pytest

from apps.accounts.services import token_create
from apps.runs import triggers
from apps.runs.models import NodeRun, Run
from tests.expressions.hostile import HOSTILE, MEMORY, TIME, TIME_DATA
from tests.fixtures.runs import flow

LIVENESS_S = 1.5  # wide bound for one /healthz answer on a loaded 2-core machine (the
# hostile run below would block the process for its whole 2 s limit if it held the GIL)


class HealthPoller:
    """GET /healthz back to back on its own connection; keeps each answer's latency."""

    def __init__(self, url: str) -> None:
        self.url = f"{url}/healthz"
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(self.url, timeout=5) as response:
                    response.read()
            except OSError as exc:
                self.failures.append(str(exc))
            self.latencies.append(time.perf_counter() - started)
            time.sleep(0.01)

    def __enter__(self):
        self.thread.start()
        time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        assert not self.failures
        assert len(self.latencies) >= 3
        assert max(self.latencies) < LIVENESS_S, sorted(self.latencies)[-3:]


def _request(url: str, path: str, body: dict | bytes, token: str | None = None):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    request = urllib.request.Request(f"{url}{path}", data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


@pytest.fixture
def editor_token(create_user):
    user = create_user(roles=["editor"])
    _, raw = token_create(user=user, name="live")
    return user, raw


def _set_flow(expression: str, trigger: str = "trigger.manual") -> dict:
    config = {"mode": "respond"} if trigger == "trigger.webhook" else {}
    return flow(("start", trigger, config),
                ("set", "data.set", {"fields": [{"name": "out", "value": expression}]}),
                ("respond", "flow.respond", {"status": 200}),
                edges=[("start", "set"), ("set", "respond")])


@pytest.mark.django_db(transaction=True)
def test_the_check_api_answers_hostile_and_unknown_at_once(live_web, editor_token):
    _, token = editor_token
    with HealthPoller(live_web.url):
        for kind, (expression, _data) in HOSTILE.items():
            status, body = _request(live_web.url, "/api/expressions/check/",
                                    {"expression": expression}, token)
            assert status == 200, (kind, body)
            if kind != "time":  # time depends on the data: only the run can know
                assert body["valid"] is False, kind
        status, body = _request(live_web.url, "/api/expressions/check/",
                                {"expression": "foo(1) + inptu.x"}, token)
    assert status == 200
    assert body == {"valid": False, "error": {"message": "Unknown function 'foo'.",
                                              "position": 0}}
    status, body = _request(live_web.url, "/api/expressions/check/",
                            {"expression": "input.a + inptu.x"}, token)
    assert body["error"]["message"].startswith("Unknown variable 'inptu'")
    assert body["error"]["position"] == 10
    assert _request(live_web.url, "/api/expressions/check/", {"expression": MEMORY},
                    token)[1]["error"]["limit"] == "memory"


@pytest.mark.django_db(transaction=True)
def test_publish_reports_what_the_run_would(live_web, editor_token, create_workflow):
    user, token = editor_token
    with HealthPoller(live_web.url):
        for expression, fragment in [("foo(1)", "Unknown function 'foo'"),
                                     ("inptu.x", "Unknown variable 'inptu'"),
                                     (MEMORY, "from its literals alone"),
                                     (HOSTILE["nesting"][0], "field 'fields[0].value'")]:
            workflow = create_workflow(user=user, graph=_set_flow(expression))
            for action in ("validate", "publish"):
                status, body = _request(live_web.url, f"/api/workflows/{workflow.pk}/{action}/",
                                        {}, token)
                assert status in (200, 400), body
                problems = [p for p in body["problems"] if p["node_id"] == "set"]
                assert problems, (expression[:40], body)
                assert fragment in problems[0]["message"], problems
        workflow = create_workflow(user=user, graph=_set_flow(TIME))
        status, body = _request(live_web.url, f"/api/workflows/{workflow.pk}/publish/", {},
                                token)
        assert status == 201, body  # only the data makes it hostile: the run bounds it


@pytest.mark.django_db(transaction=True)
def test_a_run_stops_a_hostile_node_at_its_limit_and_the_web_keeps_answering(
        live_web, publish):
    workflow = publish(_set_flow(TIME, trigger="trigger.webhook"))
    secret = triggers.workflow_runtime_get(workflow=workflow).webhook_secret
    with HealthPoller(live_web.url):
        status, body = _request(live_web.url, f"/hooks/{secret}/",
                                json.dumps(TIME_DATA).encode())
    # A respond-mode run that fails answers with the webhook's failure response (not a
    # crash, and without the expression or node ids); the run keeps what went wrong: the
    # node, the field and the limit.
    run = Run.objects.get(workflow=workflow)
    assert (status, body) == (500, {"error": "run_failed", "run_id": str(run.pk)})
    assert run.status == "failed"
    assert run.error["node_id"] == "set"
    assert run.error["message"] == ("Field 'fields[0].value': The expression ran longer "
                                    "than 2 s (the time limit) and was stopped.")
    node = NodeRun.objects.get(run__workflow=workflow, node_id="set")
    assert node.status == "failed"
    message = json.dumps(node.error)
    assert "time limit" in message, message
