"""Data from outside can never pose as the engine's reference to a stored value.

The engine keeps large values in PostgreSQL and passes {"$weft_ref": {...}} in their
place. A caller who sends that shape (in a webhook body, a run's input, an HTTP
response, a map item, or built by an expression) must get its own data back,
unchanged, and never another run's stored data (node-run ids are sequential)."""

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from channels.testing import HttpCommunicator

from apps.runs import services, triggers
from apps.runs.models import MapItem, NodeRun, Run
from config.asgi import application
from tests.fixtures.runs import flow

SECRET = {"card": "4111 1111 1111 1111"}


@pytest.fixture
def forged(publish):
    """A reference to another run's stored output (which holds SECRET)."""
    victim = publish(flow(("start", "trigger.manual"), ("keep", "test.set", {"values": SECRET}),
                          edges=[("start", "keep")]), name="victim")
    run = services.run_start(workflow=victim, input={})
    pk = NodeRun.objects.get(run=run, node_id="keep").pk
    return {"$weft_ref": {"node_run": pk, "field": "outputs", "port": "out"}}


ECHO_HOOK = flow(("hook", "trigger.webhook", {"mode": "respond"}), ("noop", "core.noop"),
                 ("respond", "flow.respond"), edges=[("hook", "noop"), ("noop", "respond")])


def _asgi_post(path, body, headers=()):
    async def go():
        communicator = HttpCommunicator(application, "POST", path, body=body,
                                        headers=[(b"content-type", b"application/json"),
                                                 *headers])
        return await communicator.get_response(timeout=10)

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result(timeout=30)


def _no_secret(value):
    assert "4111" not in json.dumps(value)


@pytest.mark.django_db(transaction=True)
def test_a_webhook_body_shaped_like_a_reference_comes_back_as_sent(publish, forged, client,
                                                                    viewer_client):
    secret = triggers.workflow_runtime_get(workflow=publish(ECHO_HOOK)).webhook_secret
    own = {"$weft_ref": {"mine": True}, "$$weft_x": [{"$weft_ref": 1}], "weft_y": 2}
    for body in (forged, own):
        # The Django view and the ASGI front
        answer = client.post(f"/hooks/{secret}/", json.dumps(body),
                             content_type="application/json")
        assert answer.status_code == 200, answer.content
        assert answer.json() == body
        response = _asgi_post(f"/hooks/{secret}/", json.dumps(body).encode())
        assert response["status"] == 200
        assert json.loads(response["body"]) == body
    for run in Run.objects.filter(trigger="webhook"):
        detail = viewer_client.get(f"/api/runs/{run.pk}/").json()
        assert detail["input"] in (forged, own)
        for node in detail["node_runs"]:
            assert node["outputs"]["out"] in (forged, own, {
                "status": 200, "body": detail["input"], "headers": {}})
            _no_secret(node)


@pytest.mark.django_db
def test_a_run_input_shaped_like_a_reference_is_the_callers_own(publish, forged,
                                                                editor_client):
    workflow = publish(flow(("start", "trigger.manual"), ("noop", "core.noop"),
                            ("keep", "test.set", {"values": {"seen": True}}),
                            edges=[("start", "noop"), ("noop", "keep")]))
    answer = editor_client.post(f"/api/workflows/{workflow.pk}/runs/", {"input": forged},
                                format="json")
    assert answer.status_code == 201, answer.content
    body = answer.json()
    outputs = {n["node_id"]: n["outputs"]["out"] for n in body["node_runs"]}
    assert outputs == {"start": forged, "noop": forged, "keep": {**forged, "seen": True}}
    assert body["input"] == forged
    _no_secret(body)


@pytest.mark.django_db
def test_a_set_node_and_an_expression_cannot_forge_a_reference(publish, forged,
                                                               viewer_client):
    ref = forged["$weft_ref"]
    made = f"{{'node_run': {ref['node_run']}, 'field': 'outputs', 'port': 'out'}}"
    workflow = publish(flow(("start", "trigger.manual"),
                            ("forge", "data.set", {"fields": [{"name": "$weft_ref",
                                                               "value": made}]}),
                            ("read", "data.set", {"keep_input": True, "fields": [
                                {"name": "keys", "value": "input.map(k, k)"}]}),
                            edges=[("start", "forge"), ("forge", "read")]))
    run = services.run_start(workflow=workflow, input={})
    assert run.status == "succeeded", run.error
    detail = viewer_client.get(f"/api/runs/{run.pk}/").json()
    outputs = {n["node_id"]: n["outputs"]["out"] for n in detail["node_runs"]}
    assert outputs["forge"] == forged
    assert outputs["read"] == {**forged, "keys": ["$weft_ref"]}
    _no_secret(detail)


CHILD_READS = flow(("start", "trigger.manual"), ("keep", "test.set", {"values": {}}),
                   edges=[("start", "keep")])


@pytest.mark.django_db
def test_an_http_response_and_a_sub_workflow_result_are_data(publish, forged,
                                                            answering_server, viewer_client,
                                                            django_capture_on_commit_callbacks):
    """The HTTP node's response holds the shape; a sub-workflow gets it as its input,
    and its result (also built by a set node there) comes back to the parent."""
    url = answering_server(json.dumps(forged).encode())
    child = publish(CHILD_READS, name="child")
    workflow = publish(flow(("start", "trigger.manual"),
                            ("fetch", "http.request", {"url": url}),
                            ("sub", "flow.subworkflow", {"workflow_id": str(child.pk),
                                                         "input": "input.body"}),
                            ("after", "test.set", {"values": {}}),
                            edges=[("start", "fetch"), ("fetch", "sub"), ("sub", "after")]))
    run = services.run_start(workflow=workflow, input={})
    for node_id in ("fetch", "sub"):
        with django_capture_on_commit_callbacks():
            services.node_run_execute(node_run_id=NodeRun.objects.get(
                run=run, node_id=node_id).pk)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    detail = viewer_client.get(f"/api/runs/{run.pk}/").json()
    outputs = {n["node_id"]: n["outputs"]["out"] for n in detail["node_runs"]}
    assert outputs["fetch"]["body"] == forged
    assert outputs["sub"] == forged
    assert outputs["after"] == forged
    child_run = Run.objects.get(parent_run=run)
    assert viewer_client.get(f"/api/runs/{child_run.pk}/").json()["input"] == forged
    _no_secret(detail)


@pytest.mark.django_db
def test_map_items_shaped_like_references_are_data(publish, forged, drive_map,
                                                    viewer_client):
    child = publish(CHILD_READS, name="item")
    items = [forged, {"$weft_ref": {"map": 1, "count": 5}}, 3]
    workflow = publish(flow(("start", "trigger.manual"),
                            ("list", "data.filter", {"items": "run.input.items",
                                                     "condition": "true"}),
                            ("map", "flow.map", {"workflow_id": str(child.pk)}),
                            ("after", "core.noop"),
                            edges=[("start", "list"), ("list", "map"), ("map", "after")]))
    run = services.run_start(workflow=workflow, input={"items": items})
    drive_map(run)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    detail = viewer_client.get(f"/api/runs/{run.pk}/").json()
    nodes = {n["node_id"]: n for n in detail["node_runs"]}
    expected = [forged, {"$weft_ref": {"map": 1, "count": 5}}, {"item": 3}]
    assert nodes["after"]["outputs"]["out"] == expected
    assert nodes["map"]["items_url"] is None
    assert nodes["map"]["items_count"] is None
    page = viewer_client.get(f"/api/runs/{run.pk}/nodes/map/items/").json()
    assert [item["input"] for item in page["results"]] == items
    assert [item["output"] for item in page["results"]] == expected
    assert MapItem.objects.filter(node_run__run=run).count() == 3
    _no_secret(detail)
    _no_secret(page)


@pytest.mark.django_db
def test_an_imported_workflow_cannot_forge_a_reference_in_its_config(forged, editor_client):
    """A node's configuration (here imported) holding the shape: its output is data."""
    document = {"weft_export": 1, "name": "Imported", "description": "",
                "graph": flow(("start", "trigger.manual"),
                              ("forge", "test.set", {"values": forged}), ("noop", "core.noop"),
                              edges=[("start", "forge"), ("forge", "noop")])}
    imported = editor_client.post("/api/workflows/import/", document, format="json")
    assert imported.status_code == 201, imported.content
    workflow_id = imported.json()["id"]
    assert imported.json()["graph"] == document["graph"]
    published = editor_client.post(f"/api/workflows/{workflow_id}/publish/", {}, format="json")
    assert published.status_code in (200, 201), published.content
    started = editor_client.post(f"/api/workflows/{workflow_id}/runs/", {"input": {}},
                                 format="json")
    assert started.status_code == 201, started.content
    outputs = {n["node_id"]: n["outputs"]["out"] for n in started.json()["node_runs"]}
    assert outputs["forge"] == forged
    assert outputs["noop"] == forged
    _no_secret(started.json())
    exported = editor_client.get(f"/api/workflows/{workflow_id}/export/").json()
    assert exported["graph"] == document["graph"]
