"""Acting on runs: "Debug in editor" (a test run of the draft with a past run's input, its
nodes' outputs pinned on request), retry and cancel of several runs through the API, and
one rule for runs of deleted workflows (readable everywhere, cancellable, never retried
or debugged)."""

import pytest

from apps.runs.models import Run, RunMode, RunStatus
from apps.runs.services import run_start
from apps.runs.test_runs import draft_run_start
from apps.workflows.models import NodePin
from apps.workflows.services import workflow_delete
from tests.fixtures.runs import draft_save, flow, node_outputs

pytestmark = pytest.mark.django_db

TWO_SETS = flow(("start", "trigger.manual"), ("a", "test.set", {"values": {"a": 1}}),
                ("b", "test.set", {"values": {"b": 2}}), edges=[("start", "a"), ("a", "b")])
FAILS_AT_B = flow(("start", "trigger.manual"), ("a", "test.set", {"values": {"a": 1}}),
                  ("b", "test.fail"), edges=[("start", "a"), ("a", "b")])
ECHO = flow(("start", "trigger.manual"), ("set", "test.set", {"values": {"ok": True}}),
            edges=[("start", "set")])
SLOW = flow(("start", "trigger.manual"), ("wait", "test.sleep", {"seconds": 3600}),
            edges=[("start", "wait")])


# --- Debug in editor ------------------------------------------------------------------------

def test_debug_runs_the_current_draft_with_the_past_runs_input(publish, editor_client):
    workflow = publish(FAILS_AT_B, name="Orders")
    failed = run_start(workflow=workflow, input={"order": "A-1001", "$weft_x": 1})
    assert failed.status == RunStatus.FAILED
    draft_save(workflow, TWO_SETS)  # the builder fixes node b in the draft

    response = editor_client.post(f"/api/runs/{failed.pk}/debug/", {}, format="json")

    assert response.status_code == 201, response.data
    test_run = response.data["run"]
    assert test_run["mode"] == RunMode.TEST
    assert test_run["status"] == RunStatus.SUCCEEDED
    # the caller's own input, "$weft_x" included, came back unchanged
    assert test_run["input"] == {"order": "A-1001", "$weft_x": 1}
    # stored escaped once, as any input is (twice would read "$$$weft_x")
    assert node_outputs(test_run["id"], "b") == {"out": {"order": "A-1001", "$$weft_x": 1,
                                                     "a": 1, "b": 2}}
    assert response.data["editor_url"] == f"/editor/{workflow.pk}/?run={test_run['id']}"
    assert response.data["pinned"] == []
    assert not NodePin.objects.filter(workflow=workflow).exists()


def test_debug_pins_each_nodes_output_on_request(publish, editor_client):
    workflow = publish(FAILS_AT_B, name="Orders")
    failed = run_start(workflow=workflow, input={"order": "A-7"})
    draft = flow(("start", "trigger.manual"), ("a", "test.set", {"values": {"a": "new"}}),
                 ("b", "test.set", {"values": {"b": 2}}), edges=[("start", "a"), ("a", "b")])
    draft_save(workflow, draft)

    response = editor_client.post(f"/api/runs/{failed.pk}/debug/", {"pin": True},
                                  format="json")

    assert response.status_code == 201, response.data
    assert response.data["pinned"] == ["a"]
    assert response.data["not_pinned"] == {"b": "It did not succeed in this run."}
    pin = NodePin.objects.get(workflow=workflow, node_id="a")
    assert pin.outputs == {"out": {"order": "A-7", "a": 1}}
    assert str(pin.source_run) == str(failed.pk)
    # a gave its pinned output from the past run (a = 1, not the draft's "new")
    assert node_outputs(response.data["run"]["id"], "b") == {"out": {"order": "A-7", "a": 1,
                                                                 "b": 2}}


def test_debug_is_refused_clearly(publish, editor_client, client_for):
    workflow = publish(ECHO, name="Gone")
    run = run_start(workflow=workflow, input={"n": 1})
    assert client_for("viewer").post(f"/api/runs/{run.pk}/debug/", {},
                                     format="json").status_code == 403
    bad = editor_client.post(f"/api/runs/{run.pk}/debug/", {"pin": "sometimes"},
                             format="json")
    assert bad.status_code == 400
    assert "pin" in bad.data["errors"]
    workflow_delete(workflow=workflow, user=workflow.owner)
    refused = editor_client.post(f"/api/runs/{run.pk}/debug/", {}, format="json")
    assert refused.status_code == 409
    assert refused.data["code"] == "workflow_deleted"
    assert "workflow was deleted" in refused.data["detail"]
    assert Run.objects.filter(mode=RunMode.TEST).count() == 0


def test_debug_from_the_run_page_opens_the_editor_or_says_why_not(publish, browser_for):
    workflow = publish(ECHO, name="Paged")
    run = run_start(workflow=workflow, input={"n": 1})
    editor = browser_for("editor")
    page = editor.get(f"/runs/{run.pk}/").content.decode()
    assert "Debug in editor" in page
    response = editor.post(f"/runs/{run.pk}/debug/", {"pin": "on"})
    test_run = Run.objects.get(mode=RunMode.TEST)
    assert response.status_code == 302
    assert response["Location"] == f"/editor/{workflow.pk}/?run={test_run.pk}"
    assert NodePin.objects.filter(workflow=workflow, node_id="set").exists()
    assert "Debug in editor" not in browser_for("viewer").get(f"/runs/{run.pk}/") \
        .content.decode()
    assert browser_for("viewer").post(f"/runs/{run.pk}/debug/").status_code == 403
    workflow_delete(workflow=workflow, user=workflow.owner)
    refused = editor.post(f"/runs/{run.pk}/debug/", follow=True).content.decode()
    assert "Not debugged: This run cannot be debugged in the editor. Its workflow was " \
           "deleted" in refused


# --- Retry and cancel several through the API ----------------------------------------------

def test_bulk_retry_does_each_run_it_may_and_says_why_not_for_the_others(
        publish, editor_client):
    bad = publish(FAILS_AT_B, name="Bad")
    failed = [run_start(workflow=bad, input={"n": i}) for i in range(2)]
    done = run_start(workflow=publish(ECHO, name="Good"), input={})
    ids = [str(r.pk) for r in (*failed, done)]

    response = editor_client.post("/api/runs/bulk/", {"action": "retry", "runs": ids},
                                  format="json")

    assert response.status_code == 200, response.data
    assert response.data["action"] == "retry"
    assert response.data["done"] == ids[:2]
    assert response.data["refused"] == [
        {"id": ids[2], "detail": "Only a failed run can be retried; this one is succeeded."}]
    assert all(Run.objects.get(pk=r.pk).node_runs.filter(attempt=2).exists() for r in failed)


def test_bulk_cancel_leaves_another_builders_test_run_to_them_or_an_admin(
        publish, editor_client, client_for, create_user):
    workflow = publish(SLOW, name="Slow")
    mine = run_start(workflow=workflow, input={})
    colleague = create_user(username="colleague", roles=["editor"])
    theirs = draft_run_start(workflow=workflow, user=colleague, input={})

    response = editor_client.post("/api/runs/bulk/", {
        "action": "cancel", "runs": [str(mine.pk), str(theirs.pk)]}, format="json")

    assert response.data["done"] == [str(mine.pk)]
    assert response.data["refused"] == [{"id": str(theirs.pk), "detail": (
        "A test run of the draft belongs to colleague, who started it: only they or an "
        "admin may retry or cancel it.")}]
    assert Run.objects.get(pk=theirs.pk).status != RunStatus.CANCELLED
    single = editor_client.post(f"/api/runs/{theirs.pk}/cancel/", {}, format="json")
    assert single.status_code == 403
    assert single.data["code"] == "not_your_test_run"
    admin = client_for("admin").post("/api/runs/bulk/", {
        "action": "cancel", "runs": [str(theirs.pk)]}, format="json")
    assert admin.data["done"] == [str(theirs.pk)]


@pytest.mark.parametrize(("body", "field"), [
    ({"action": "retry"}, "runs"),
    ({"action": "retry", "runs": []}, "runs"),
    ({"action": "retry", "runs": ["not-an-id"]}, "runs"),
    ({"action": "retry", "runs": ["00000000-0000-4000-8000-000000000009"]}, "runs"),
    ({"action": "retry", "runs": [f"00000000-0000-4000-8000-{i:012d}" for i in range(201)]},
     "runs"),
    ({"action": "delete", "runs": ["00000000-0000-4000-8000-000000000009"]}, "action"),
    ({"action": "retry", "runs": ["00000000-0000-4000-8000-000000000009"], "all": True},
     "all"),
])
def test_bulk_bad_input_is_refused_naming_the_field_and_changes_nothing(
        publish, editor_client, body, field):
    failed = run_start(workflow=publish(FAILS_AT_B, name="Bad"), input={})
    if body.get("runs") and len(body["runs"]) == 1:
        body = {**body, "runs": [str(failed.pk), *body["runs"]]}
    response = editor_client.post("/api/runs/bulk/", body, format="json")
    assert response.status_code == 400, response.data
    assert field in response.data["errors"], response.data
    assert not Run.objects.get(pk=failed.pk).node_runs.filter(attempt=2).exists()


def test_the_bulk_route_is_in_the_openapi_schema(editor_client):
    schema = editor_client.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/runs/bulk/"]["post"]
    assert operation["operationId"] == "runs_bulk_create"
    assert "/api/runs/{run_id}/debug/" in schema["paths"]


# --- Runs of deleted workflows: one rule everywhere --------------------------------------------

def test_a_deleted_workflows_runs_stay_readable_and_cancellable_but_not_retried(
        publish, editor_client, browser_for):
    workflow = publish(FAILS_AT_B, name="Retired")
    failed = run_start(workflow=workflow, input={"order": "Z-9"})
    waiting = run_start(workflow=publish(SLOW, name="Retired slow"), input={})
    workflow_delete(workflow=workflow, user=workflow.owner)
    workflow_delete(workflow=waiting.workflow, user=workflow.owner)

    listed = editor_client.get("/api/runs/", {"q": "z-9"}).data["results"]
    assert [(r["id"], r["workflow_deleted"]) for r in listed] == [(str(failed.pk), True)]
    assert editor_client.get(f"/api/runs/{failed.pk}/").status_code == 200
    page = browser_for("editor").get(f"/runs/{failed.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Its workflow was deleted" in text
    assert "Retry from the failed node" not in text
    assert "Open in the editor" not in text
    assert "workflow deleted" in browser_for("viewer").get("/runs/").content.decode()

    retried = editor_client.post(f"/api/runs/{failed.pk}/retry/", {}, format="json")
    assert retried.status_code == 409
    assert retried.data["code"] == "workflow_deleted"
    cancelled = editor_client.post(f"/api/runs/{waiting.pk}/cancel/", {}, format="json")
    assert cancelled.status_code == 200
    assert cancelled.data["status"] == RunStatus.CANCELLED
