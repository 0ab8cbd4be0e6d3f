"""Personal data that reaches a reader through a node's error, a task's title or the
metrics: masked for users without the `personal-data` permission wherever a run's errors
and tasks are listed (runs list, Runs tab, home page, run page, live events, inbox, audit),
never matched by their search, and never a metrics label."""

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.approvals.models import Task
from apps.audit.models import AuditEvent
from apps.audit.personal import PERSONAL_MASK, PersonalMasker, PersonalPolicy, personal_scope
from apps.inference.client import Prediction
from apps.oversight.models import ModelCall
from apps.oversight.recording import model_calls_discard, model_calls_flush, model_calls_record
from apps.privacy.selectors import policy_forget
from apps.privacy.services import grant_set, policy_set
from apps.runs import metrics
from apps.runs import services as runs
from apps.runs.models import NodeRun
from config.asgi import application
from tests.fixtures.approvals import approval_flow
from tests.fixtures.runs import flow

EMAIL = "ann@example.com"
INPUT = {"order": "A-77", "customer": {"name": "Ann Example", "email": EMAIL},
         "note": "call +1 415 555 2671"}
FAILING = flow(("start", "trigger.manual"),
               ("charge", "test.fail", {"message": f"HTTP 404: no account for {EMAIL}"}),
               edges=[("start", "charge")])


def _readers(create_user, client_for, workflow, *, paths=(), detectors=("email",)):
    """(an admin, a viewer without the permission, a viewer with it), after the
    workflow's policy is set."""
    admin = create_user(roles=["admin"])
    policy_set(workflow=workflow, user=admin, paths=list(paths), detectors=list(detectors))
    viewer, trusted = client_for("viewer"), client_for("viewer")
    grant_set(granted=True, actor=admin, user=trusted.user)
    return admin, viewer, trusted


@pytest.mark.django_db
def test_errors_in_the_runs_list_home_page_and_run_page_are_masked(publish, create_user,
                                                                  client_for, browser_for):
    workflow = publish(FAILING)
    _, viewer, trusted = _readers(create_user, client_for, workflow)
    run = runs.run_start(workflow=workflow, input=INPUT)
    run.refresh_from_db()
    assert run.status == "failed"
    assert EMAIL in run.error["message"]  # stored as it happened

    for params in ({}, {"workflow": str(workflow.pk)}):  # the runs list, a workflow's tab
        row = viewer.get("/api/runs/", params).data["results"][0]
        assert row["error"]["message"] == f"HTTP 404: no account for {PERSONAL_MASK}"
        assert row["error"]["node_id"] == "charge"
        assert trusted.get("/api/runs/", params).data["results"][0]["error"]["message"] == \
            f"HTTP 404: no account for {EMAIL}"
    detail = viewer.get(f"/api/runs/{run.pk}/").data
    assert EMAIL not in json.dumps(detail)
    assert EMAIL in json.dumps(trusted.get(f"/api/runs/{run.pk}/").data)

    page = browser_for(user=viewer.user)
    for url in ("/runs/", f"/runs/{run.pk}/", f"/runs/?workflow={workflow.pk}&partial=1", "/"):
        html = page.get(url).content.decode()
        assert "no account for" in html, url
        assert EMAIL not in html, url
        assert PERSONAL_MASK in html, url
    trusted_page = browser_for(user=trusted.user)
    assert EMAIL in trusted_page.get("/").content.decode()
    assert EMAIL in trusted_page.get("/runs/").content.decode()


def _session_of(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def _live_errors(run, node_run_pk, session: str) -> list[dict]:
    """The errors a WebSocket reader of `run` receives while its queued node executes."""
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver"),
               (b"cookie", f"{settings.SESSION_COOKIE_NAME}={session}".encode())]

    async def scenario():
        from channels.db import database_sync_to_async

        live = WebsocketCommunicator(application, f"/ws/runs/{run.pk}/", headers=headers)
        assert (await live.connect())[0]
        assert (await live.receive_json_from(timeout=5))["event"] == "snapshot"
        await database_sync_to_async(runs.node_run_execute)(node_run_id=node_run_pk,
                                                            worker="w1")
        received = []
        while not received or received[-1]["event"] != "run":
            received.append(await live.receive_json_from(timeout=10))
        await live.disconnect()
        return [e["error"] for e in received if e.get("error")]

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, scenario()).result(timeout=60)


@pytest.mark.django_db(transaction=True)
def test_live_run_events_mask_errors_for_a_viewer(publish, create_user, client_for,
                                                 sent_node_runs):
    graph = flow(("start", "trigger.manual"), ("wait", "test.sleep", {"seconds": 0}),
                 ("charge", "test.fail",
                  {"message": f"HTTP 404: no account for {EMAIL}"}),
                 edges=[("start", "wait"), ("wait", "charge")])
    workflow = publish(graph)
    _, viewer, trusted = _readers(create_user, client_for, workflow)
    seen = {}
    for name, reader in (("viewer", viewer), ("trusted", trusted)):
        run = runs.run_start(workflow=workflow, input=INPUT)
        wait = NodeRun.objects.get(run=run, node_id="wait")
        seen[name] = _live_errors(run, wait.pk, _session_of(reader.user))
    # the node's failure and the run's failure, both carrying the message
    assert len(seen["viewer"]) == 2
    assert all(e["message"] == f"HTTP 404: no account for {PERSONAL_MASK}"
               for e in seen["viewer"])
    assert len(seen["trusted"]) == 2
    assert all(EMAIL in e["message"] for e in seen["trusted"])


@pytest.mark.django_db
def test_task_titles_are_masked_in_the_inbox_run_detail_and_audit(
        publish, create_user, client_for, create_team, django_capture_on_commit_callbacks):
    reviewer = create_user(roles=["reviewer"])
    create_team(name="Billing", members=[reviewer])
    # The title quotes a node's output that the policy names (not the run's input).
    graph = flow(("start", "trigger.manual"),
                 ("lookup", "test.set", {"values": {"holder": "Bob Holder"}}),
                 ("review", "human.approval",
                  {"title": "Card of {{ nodes.lookup.output.holder }} ({{ input.order }})",
                   "assignee_teams": ["Billing"]}),
                 edges=[("start", "lookup"), ("lookup", "review")])
    workflow = publish(graph)
    admin, viewer, trusted = _readers(create_user, client_for, workflow,
                                      paths=["nodes.lookup.output.holder"])
    with django_capture_on_commit_callbacks(execute=True):
        run = runs.run_start(workflow=workflow, input=INPUT, user=admin)
    task = Task.objects.get(run=run)
    assert task.title == "Card of Bob Holder (A-77)"  # stored as rendered
    masked = f"Card of {PERSONAL_MASK} (A-77)"

    inbox = client_for(user=reviewer)
    assert [t["title"] for t in inbox.get("/api/tasks/", {"tab": "team"}).data["results"]] \
        == [masked]
    assert inbox.get(f"/api/tasks/{task.pk}/").data["title"] == masked
    titles = {n["node_id"]: n["task_title"] for n in
              viewer.get(f"/api/runs/{run.pk}/").data["node_runs"]}
    assert titles["review"] == masked
    assert {n["node_id"]: n["task_title"] for n in trusted.get(
        f"/api/runs/{run.pk}/").data["node_runs"]}["review"] == task.title
    # the audit log is read by admins with and without the permission: masked for all
    inbox.post(f"/api/tasks/{task.pk}/claim/")
    events = AuditEvent.objects.filter(action__startswith="task.")
    assert {e.action for e in events} >= {"task.created", "task.claimed"}
    for event in events:
        assert "Bob Holder" not in event.target_label + json.dumps(event.data), event.action
        assert event.target_label == masked


@pytest.mark.django_db
def test_the_inbox_list_reads_its_masks_in_a_fixed_number_of_queries(
        publish, create_user, client_for, create_team, django_capture_on_commit_callbacks):
    reviewer = create_user(roles=["reviewer"])
    create_team(name="Billing", members=[reviewer])
    workflow = publish(approval_flow(title="Invoice for {{ input.customer.email }}"))
    admin, _, _ = _readers(create_user, client_for, workflow, paths=["input.customer.name"])
    inbox = client_for(user=reviewer)

    def listed(count: int) -> int:
        with django_capture_on_commit_callbacks(execute=True):
            for _ in range(count - Task.objects.count()):
                runs.run_start(workflow=workflow, input=INPUT, user=admin)
        policy_forget(workflow_id=workflow.pk)  # both counts read the policy afresh
        with CaptureQueriesContext(connection) as queries:
            rows = inbox.get("/api/tasks/", {"tab": "team"}).data["results"]
        assert [r["title"] for r in rows] == [f"Invoice for {PERSONAL_MASK}"] * count
        # (the token's last use is written at most once a minute: not the list's)
        return len([q for q in queries.captured_queries if q["sql"].startswith("SELECT")])

    assert listed(2) == listed(6)


@pytest.mark.django_db
def test_search_matches_no_part_of_a_masked_value_for_others(publish, create_user,
                                                             client_for):
    workflow = publish(FAILING)
    _, viewer, trusted = _readers(create_user, client_for, workflow,
                                  paths=["input.customer.name"], detectors=["email", "phone"])
    run = runs.run_start(workflow=workflow, input=INPUT)
    # words of a masked name or phone number would confirm a guess, one part at a time
    for q in ("ann", "example", "2671", "555", "ann@example.com"):
        assert viewer.get("/api/runs/", {"q": q}).data["results"] == [], q
        assert [r["id"] for r in trusted.get("/api/runs/", {"q": q}).data["results"]] == [
            str(run.pk)], q
    # what is not personal stays findable, for everyone
    for q in ("a-77", "call"):
        assert [r["id"] for r in viewer.get("/api/runs/", {"q": q}).data["results"]] == [
            str(run.pk)], q


BOUNDED_LABELS = {"workflow", "trigger", "mode", "status", "node_type", "queue"}


@pytest.mark.django_db
def test_metrics_labels_never_carry_run_data(publish, create_user, client_for, settings,
                                            django_capture_on_commit_callbacks):
    settings.WEFT_METRICS_TOKEN = ""
    settings.WEFT_METRICS_ALLOW = []
    workflow = publish(FAILING)
    _readers(create_user, client_for, workflow)
    with django_capture_on_commit_callbacks(execute=True):
        runs.run_start(workflow=workflow, input=INPUT)
    body = Client().get("/metrics").content.decode()
    assert f'weft_runs_finished_total{{mode="production",status="failed",' \
           f'workflow="{workflow.pk}"}}' in body
    for value in ("Ann Example", EMAIL, "555 2671", "no account"):
        assert value not in body
    # every metric Weft declares is labelled only by bounded, non-data dimensions
    declared = [metrics.RUNS_STARTED, metrics.RUNS_FINISHED, metrics.NODE_DURATION,
                metrics.RETRIES, metrics.QUARANTINED]
    for metric in declared:
        assert set(metric._labelnames) <= BOUNDED_LABELS, metric._name
    for line in body.splitlines():
        if line.startswith("weft_") and "{" in line:
            names = {pair.split("=")[0] for pair in
                     line[line.index("{") + 1:line.rindex("}")].split(",") if pair}
            assert names - {"le"} <= BOUNDED_LABELS, line


@pytest.mark.django_db
def test_model_labels_recorded_while_a_run_executes_are_masked():
    """A model's label output is free text (an extraction model may answer a name or an
    address): the label recorded for the model pages passes through the run's masker."""
    model_calls_discard()
    masker = PersonalMasker(PersonalPolicy.build(detectors=["email"]))
    with personal_scope(masker):  # as while a node of a run with a policy executes
        model_calls_record(server="local", model="extract", version="1", latency_ms=1.0,
                           predictions=[Prediction({}, label=f"owner {EMAIL}", confidence=0.9),
                                        Prediction({}, label="fraud", confidence=0.8)])
    model_calls_flush()
    assert sorted(ModelCall.objects.filter(model="extract").values_list("label", flat=True)) \
        == ["fraud", f"owner {PERSONAL_MASK}"]
