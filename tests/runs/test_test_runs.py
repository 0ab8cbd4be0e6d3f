"""Test runs of the draft: the saved draft runs (not a published version) as an immutable
test snapshot kept with the run; runs are marked test or production; test runs never
fire error triggers and do not count toward the concurrency limit; pinned nodes give
their pins instead of running; "Run this node" uses the upstream data of earlier test
runs, marked stale after an upstream edit."""

import pytest

from apps.runs import services, triggers
from apps.runs.models import Run
from apps.workflows.models import WorkflowVersion
from apps.workflows.services import workflow_publish
from tests.fixtures.runs import draft_save, flow, node_execute, node_outputs

pytestmark = pytest.mark.django_db

SETS = flow(("start", "trigger.manual", {"sample_input": {"amount": 7}}),
            ("a", "test.set", {"values": {"a": 1}}),
            ("b", "test.set", {"values": {"b": 2}}),
            edges=[("start", "a"), ("a", "b")])


def test_a_test_run_runs_the_saved_draft_and_keeps_its_snapshot(editor_client, create_workflow):
    workflow = create_workflow(graph=flow(("start", "trigger.manual"),
                                          ("a", "test.set", {"values": {"a": 1}}),
                                          edges=[("start", "a")]))
    workflow_publish(workflow=workflow, user=workflow.owner)
    draft = flow(("start", "trigger.manual", {"sample_input": {"amount": 7}}),
                 ("a", "test.set", {"values": {"a": "draft"}}), edges=[("start", "a")])
    draft_save(workflow, draft)

    created = editor_client.post(f"/api/workflows/{workflow.pk}/test-runs/", {}, format="json")

    assert created.status_code == 201, created.data
    body = created.data
    assert body["mode"] == "test"
    assert body["version"] is None
    assert body["status"] == "succeeded"
    # The draft ran (not v1), with the manual trigger's sample input.
    assert body["node_runs"][1]["outputs"] == {"out": {"amount": 7, "a": "draft"}}
    # Versions are unchanged: the snapshot is not one of them.
    versions = editor_client.get(f"/api/workflows/{workflow.pk}/versions/").data
    assert [v["number"] for v in versions["results"]] == [1]
    assert editor_client.get(f"/api/workflows/{workflow.pk}/").data["latest_version"] == 1
    # The run can be drawn on the graph it ran, even after the draft moves on.
    draft_save(workflow, flow(("start", "trigger.manual")))
    graph = editor_client.get(f"/api/runs/{body['id']}/graph/").data
    assert graph["mode"] == "test"
    assert graph["version"] is None
    assert graph["graph"]["nodes"][1]["config"] == {"values": {"a": "draft"}}
    # Lists say which is which, and filter on it.
    production = services.run_start(workflow=workflow)
    listing = editor_client.get(f"/api/runs/?workflow={workflow.pk}").data["results"]
    assert {r["id"]: r["mode"] for r in listing} == {str(production.pk): "production",
                                                     body["id"]: "test"}
    only_tests = editor_client.get(f"/api/runs/?workflow={workflow.pk}&mode=test").data
    assert [r["id"] for r in only_tests["results"]] == [body["id"]]
    # A production run still runs v1.
    assert node_outputs(production.pk, "a") == {"out": {"a": 1}}


def test_a_given_input_replaces_the_sample(editor_client, create_workflow):
    workflow = create_workflow(graph=flow(("start", "trigger.manual",
                                           {"sample_input": {"amount": 7}}),
                                          ("a", "core.noop"), edges=[("start", "a")]))
    created = editor_client.post(f"/api/workflows/{workflow.pk}/test-runs/",
                                 {"input": {"amount": 9}}, format="json")
    assert created.data["node_runs"][1]["outputs"] == {"out": {"amount": 9}}


def test_a_draft_with_errors_is_refused_naming_the_problem(editor_client, create_workflow):
    graph = flow(("start", "trigger.manual"), ("bad", "control.if", {"condition": "input +"}),
                 edges=[("start", "bad")])
    graph["nodes"][1]["name"] = "Big order?"
    workflow = create_workflow(graph=graph)

    response = editor_client.post(f"/api/workflows/{workflow.pk}/test-runs/", {}, format="json")

    assert response.status_code == 400
    assert response.data["code"] == "invalid_graph"
    assert response.data["problems"][0]["node_id"] == "bad"
    assert "Big order?" in response.data["detail"]
    assert not Run.objects.exists()
    assert not WorkflowVersion.all_objects.exists()


@pytest.mark.parametrize(("body", "field"), [
    ({"input": [1, 2]}, "input"),
    ({"node": "nope"}, "node"),
    ({"surprise": 1}, "surprise"),
    ({"input": {"a": "b\u0000c"}}, "input.a"),
])
def test_bad_test_run_input_is_refused_naming_the_field(editor_client, create_workflow, body,
                                                        field):
    workflow = create_workflow(graph=SETS)
    response = editor_client.post(f"/api/workflows/{workflow.pk}/test-runs/", body,
                                  format="json")
    assert response.status_code == 400, response.data
    assert field in str(response.data)
    assert not Run.objects.exists()


def test_test_runs_never_fire_error_triggers(publish, create_workflow, editor_client):
    failing = create_workflow(graph=flow(("start", "trigger.manual"), ("boom", "test.fail"),
                                         edges=[("start", "boom")]))
    workflow_publish(workflow=failing, user=failing.owner)
    publish(flow(("start", "trigger.error", {"workflows": [str(failing.pk)]}),
                 ("log", "core.noop"), edges=[("start", "log")]))

    test = editor_client.post(f"/api/workflows/{failing.pk}/test-runs/", {}, format="json")
    production = services.run_start(workflow=failing)

    assert test.data["status"] == production.status == "failed"
    assert triggers.error_triggers_fire(run_id=test.data["id"]) == 0
    assert triggers.error_triggers_fire(run_id=production.pk) == 1


def test_test_runs_do_not_count_toward_the_concurrency_limit(editor_client, create_workflow,
                                                             receiver):
    workflow = create_workflow(graph=flow(("start", "trigger.manual"),
                                          ("call", "test.call", {"url": receiver.url}),
                                          edges=[("start", "call")]))
    workflow_publish(workflow=workflow, user=workflow.owner)
    editor_client.patch(f"/api/workflows/{workflow.pk}/runtime/", {"max_concurrency": 1},
                        format="json")
    test = editor_client.post(f"/api/workflows/{workflow.pk}/test-runs/", {}, format="json")
    assert test.data["status"] == "running"  # its call waits for a worker
    first = services.run_start(workflow=workflow)
    assert first.status == "running"  # the test run holds no slot
    second = editor_client.post(f"/api/workflows/{workflow.pk}/test-runs/", {}, format="json")
    assert second.data["status"] == "running"  # nor does a full limit hold test runs back
    assert services.run_start(workflow=workflow).status == "queued"


# --- Pinned data ------------------------------------------------------------------------

CALL = flow(("start", "trigger.manual"), ("call", "test.call", {"url": "http://127.0.0.1:9/x"}),
            ("after", "core.noop"), edges=[("start", "call"), ("call", "after")])


def test_a_pinned_node_gives_its_pin_in_test_runs_and_never_in_production(
        editor_client, create_workflow, receiver):
    graph = flow(("start", "trigger.manual"), ("call", "test.call", {"url": receiver.url}),
                 ("after", "core.noop"), edges=[("start", "call"), ("call", "after")])
    workflow = create_workflow(graph=graph)
    pinned = editor_client.put(f"/api/workflows/{workflow.pk}/pins/call/",
                               {"output": {"status": 200, "body": {"pinned": True}}},
                               format="json")
    assert pinned.status_code == 200, pinned.data
    assert pinned.data["outputs"] == {"out": {"status": 200, "body": {"pinned": True}}}

    run = editor_client.post(f"/api/workflows/{workflow.pk}/test-runs/", {}, format="json").data

    assert run["status"] == "succeeded"  # inline: nothing went to a worker
    assert node_outputs(run["id"], "after") == {"out": {"status": 200, "body": {"pinned": True}}}
    assert receiver.keys() == {}
    assert editor_client.get(f"/api/runs/{run['id']}/graph/").data["pinned"] == ["call"]
    # Published versions never use pins: the call is made.
    workflow_publish(workflow=workflow, user=workflow.owner)
    production = services.run_start(workflow=workflow)
    node_execute(production, "call")
    assert sum(receiver.keys().values()) == 1
    # Unpinned, test runs make the call too.
    assert editor_client.delete(f"/api/workflows/{workflow.pk}/pins/call/").status_code == 204
    again = editor_client.post(f"/api/workflows/{workflow.pk}/test-runs/", {}, format="json")
    node_execute(Run.objects.get(pk=again.data["id"]), "call")
    assert sum(receiver.keys().values()) == 2


def test_pin_a_node_from_a_past_run(editor_client, create_workflow):
    workflow = create_workflow(graph=SETS)
    run = editor_client.post(f"/api/workflows/{workflow.pk}/test-runs/", {}, format="json").data
    pinned = editor_client.put(f"/api/workflows/{workflow.pk}/pins/a/", {"run": run["id"]},
                               format="json")
    assert pinned.status_code == 200, pinned.data
    assert pinned.data["outputs"] == {"out": {"amount": 7, "a": 1}}
    assert pinned.data["source_run"] == run["id"]
    listed = editor_client.get(f"/api/workflows/{workflow.pk}/pins/").data
    assert [p["node_id"] for p in listed] == ["a"]


def test_a_pin_cannot_forge_an_engine_reference(editor_client, create_workflow):
    workflow = create_workflow(graph=SETS)
    forged = {"$weft_ref": {"node_run": 1, "field": "outputs", "port": "out"}}
    editor_client.put(f"/api/workflows/{workflow.pk}/pins/a/", {"output": forged},
                      format="json")
    run = editor_client.post(f"/api/workflows/{workflow.pk}/test-runs/", {}, format="json").data
    # The builder's data comes back as given, through the next node too.
    assert run["node_runs"][1]["outputs"] == {"out": forged}
    assert run["node_runs"][2]["outputs"] == {"out": {**forged, "b": 2}}


@pytest.mark.parametrize(("node", "body", "status", "names"), [
    ("a", {"outputs": {"nope": 1}}, 400, "outputs.nope"),
    ("a", {"output": {"x": "a\u0000b"}}, 400, "output.x"),
    ("a", {"output": 1, "run": "00000000-0000-4000-8000-000000000009"}, 400, "output"),
    ("a", {}, 400, "output"),
    ("a", {"run": "00000000-0000-4000-8000-000000000009"}, 400, "run"),
    ("ghost", {"output": 1}, 404, "ghost"),
])
def test_bad_pins_are_refused_naming_what_is_wrong(editor_client, create_workflow, node, body,
                                                   status, names):
    workflow = create_workflow(graph=SETS)
    response = editor_client.put(f"/api/workflows/{workflow.pk}/pins/{node}/", body,
                                 format="json")
    assert response.status_code == status, response.data
    assert names in str(response.data)
    assert editor_client.get(f"/api/workflows/{workflow.pk}/pins/").data == []


def test_a_pin_that_is_not_json_is_refused(editor_client, create_workflow):
    workflow = create_workflow(graph=SETS)
    response = editor_client.generic("PUT", f"/api/workflows/{workflow.pk}/pins/a/",
                                     '{"output": {"x": 1,}', content_type="application/json")
    assert response.status_code == 400
    assert editor_client.get(f"/api/workflows/{workflow.pk}/pins/").data == []


def test_unpinning_a_node_that_is_not_pinned_is_404(editor_client, create_workflow):
    workflow = create_workflow(graph=SETS)
    response = editor_client.delete(f"/api/workflows/{workflow.pk}/pins/a/")
    assert response.status_code == 404
    assert "'a'" in response.data["detail"]


# --- Run this node ----------------------------------------------------------------------

def test_run_this_node_uses_upstream_test_data_and_marks_it_stale_after_an_edit(
        editor_client, create_workflow, receiver):
    graph = flow(("start", "trigger.manual", {"sample_input": {"n": 1}}),
                 ("call", "test.call", {"url": receiver.url}),
                 ("shape", "test.set", {"values": {"shaped": 1}}),
                 ("other", "core.noop"),
                 edges=[("start", "call"), ("call", "shape"), ("start", "other")])
    workflow = create_workflow(graph=graph)
    first = editor_client.post(f"/api/workflows/{workflow.pk}/test-runs/", {}, format="json")
    node_execute(Run.objects.get(pk=first.data["id"]), "call")
    assert sum(receiver.keys().values()) == 1

    # Change the last node, then run only it: the call's data is used, not made again.
    graph["nodes"][2]["config"] = {"values": {"shaped": 2}}
    draft_save(workflow, graph)
    again = editor_client.post(f"/api/workflows/{workflow.pk}/test-runs/", {"node": "shape"},
                               format="json")
    assert again.status_code == 201, again.data
    assert again.data["status"] == "succeeded"
    assert sum(receiver.keys().values()) == 1
    ran = {r["node_id"] for r in again.data["node_runs"]}
    assert ran == {"start", "call", "shape"}  # not the other branch
    assert again.data["node_runs"][-1]["outputs"]["out"]["shaped"] == 2

    data = {d["node_id"]: d for d in editor_client.get(
        f"/api/workflows/{workflow.pk}/test-data/").data["nodes"]}
    assert data["shape"]["run_id"] == again.data["id"]
    assert data["shape"]["inputs"]["in"]["answer"] == {"ok": True}
    assert not data["shape"]["stale"]
    assert data["call"]["run_id"] == first.data["id"]  # its latest real output

    # An upstream edit makes the data after it stale (and only that data).
    graph["nodes"][1]["config"] = {"url": receiver.url + "?v=2"}
    draft_save(workflow, graph)
    data = {d["node_id"]: d for d in editor_client.get(
        f"/api/workflows/{workflow.pk}/test-data/").data["nodes"]}
    assert [n for n in ("start", "call", "shape", "other") if data[n]["stale"]] == ["call",
                                                                                  "shape"]

    # "Run up to here" makes the call again.
    upto = editor_client.post(f"/api/workflows/{workflow.pk}/test-runs/",
                              {"node": "shape", "rerun_upstream": True}, format="json")
    assert upto.data["status"] == "running"
    node_execute(Run.objects.get(pk=upto.data["id"]), "call")
    assert sum(receiver.keys().values()) == 2


def test_data_a_node_gave_from_its_pin_is_not_reused_by_run_this_node(editor_client,
                                                                      create_workflow,
                                                                      receiver):
    graph = flow(("start", "trigger.manual"), ("call", "test.call", {"url": receiver.url}),
                 ("after", "core.noop"), edges=[("start", "call"), ("call", "after")])
    workflow = create_workflow(graph=graph)
    editor_client.put(f"/api/workflows/{workflow.pk}/pins/call/", {"output": {"p": 1}},
                      format="json")
    pinned_run = editor_client.post(f"/api/workflows/{workflow.pk}/test-runs/", {},
                                    format="json")
    assert pinned_run.data["status"] == "succeeded"
    editor_client.delete(f"/api/workflows/{workflow.pk}/pins/call/")
    data = editor_client.get(f"/api/workflows/{workflow.pk}/test-data/").data["nodes"]
    assert "call" not in {d["node_id"] for d in data}
    again = editor_client.post(f"/api/workflows/{workflow.pk}/test-runs/", {"node": "after"},
                               format="json")
    assert again.data["status"] == "running"  # the call runs, on a worker
