"""Reading a map node's items: GET /api/runs/<run>/nodes/<node>/items/ and the
run detail's `items_url`. The maps here are real map runs (tests.fixtures.runs.run_map)."""

import uuid

import pytest

from apps.runs import services
from apps.runs.models import MapItem, NodeRun, Run
from tests.fixtures.runs import ITEM_FLOW, failing_item_flow, flow, map_graph

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer_client(client_for):
    return client_for("viewer")


def _items(client, run, node_id="map", **params):
    return client.get(f"/api/runs/{run.pk}/nodes/{node_id}/items/", params)


def _node_runs(client, run):
    response = client.get(f"/api/runs/{run.pk}/")
    assert response.status_code == 200, response.data
    return {n["node_id"]: n for n in response.data["node_runs"]}


def test_a_map_over_1200_items_refers_to_its_items_and_they_read_in_pages(
        viewer_client, run_map):
    run = run_map(1200, chunk_size=600, disabled_after=True)
    assert run.status == "succeeded", run.error
    nodes = _node_runs(viewer_client, run)
    url = f"/api/runs/{run.pk}/nodes/map/items/"
    map_row = NodeRun.objects.get(run=run, node_id="map")
    assert nodes["map"]["outputs"] == {"out": {"$weft_ref": {"map": map_row.pk, "count": 1200}}}
    assert nodes["map"]["items_url"] == url
    # The disabled node passes the reference on: its items are the map's.
    assert nodes["after"]["outputs"] == nodes["map"]["outputs"]
    assert nodes["after"]["items_url"] == url
    assert nodes["start"]["items_url"] is None
    assert nodes["items"]["items_url"] is None

    first = viewer_client.get(url)
    assert first.status_code == 200, first.data
    assert first.data["count"] == 1200
    assert [i["index"] for i in first.data["results"]] == list(range(100))  # default limit
    assert first.data["next_after"] == 99
    assert first.data["next"].startswith(f"http://testserver{url}?")
    assert "after=99" in first.data["next"]
    item = first.data["results"][3]
    child = Run.objects.get(pk=item["child_run"])
    assert child.input == {"item": 3}
    assert item == {"index": 3, "input": 3, "output": {"item": 3, "done": True},
                    "error": None, "done": True, "child_run": str(child.pk)}

    # Follow `next` with the largest page: every item once, in order, then no next page.
    seen = first.data["results"]
    page = viewer_client.get(f"{url}?after=99&limit=1000")
    assert [i["index"] for i in page.data["results"]] == list(range(100, 1100))
    seen += page.data["results"]
    assert "limit=1000" in page.data["next"]
    page = viewer_client.get(page.data["next"])
    seen += page.data["results"]
    assert page.data["next"] is None
    assert page.data["next_after"] is None
    assert page.data["count"] == 1200
    assert [i["index"] for i in seen] == list(range(1200))
    assert [i["output"] for i in seen] == [{"item": n, "done": True} for n in range(1200)]


def test_a_small_map_lists_its_results_inline_and_still_pages_its_items(viewer_client,
                                                                        run_map):
    run = run_map(25, chunk_size=10)
    assert run.status == "succeeded", run.error
    nodes = _node_runs(viewer_client, run)
    assert len(nodes["map"]["outputs"]["out"]) == 25
    assert {n: row["items_url"] for n, row in nodes.items()} == {
        "start": None, "items": None, "map": None, "after": None}

    pages, after = [], None
    while True:
        response = _items(viewer_client, run, limit=10, **({"after": after} if after is not None
                                                          else {}))
        assert response.status_code == 200, response.data
        assert response.data["count"] == 25
        pages.append([i["index"] for i in response.data["results"]])
        after = response.data["next_after"]
        if after is None:
            break
    assert pages == [list(range(10)), list(range(10, 20)), list(range(20, 25))]
    assert [i["index"] for i in _items(viewer_client, run, after=7, limit=3).data[
        "results"]] == [8, 9, 10]
    past_the_end = _items(viewer_client, run, after=24)
    assert past_the_end.data["results"] == []
    assert past_the_end.data["next"] is None
    assert past_the_end.data["count"] == 25


def test_a_failed_map_points_at_its_items_and_lists_the_failed_ones(viewer_client, run_map):
    run = run_map(30, child=failing_item_flow("input.item % 10 == 7"), chunk_size=10)
    assert run.status == "failed"
    nodes = _node_runs(viewer_client, run)
    assert nodes["map"]["status"] == "failed"
    assert nodes["map"]["error"]["type"] == "item_failed"
    assert nodes["map"]["items_url"] == f"/api/runs/{run.pk}/nodes/map/items/"

    failed = _items(viewer_client, run, failed="true")
    assert failed.status_code == 200, failed.data
    assert failed.data["count"] == 3
    assert [i["index"] for i in failed.data["results"]] == [7, 17, 27]
    for item in failed.data["results"]:
        assert item["done"] is True
        assert item["output"] is None
        assert item["error"]["type"] == "ValueError"
        assert item["error"]["message"] == "this node always fails"
        assert Run.objects.get(pk=item["child_run"]).status == "failed"
    # The cursor keeps the filter.
    first = _items(viewer_client, run, failed="true", limit=2)
    assert [i["index"] for i in first.data["results"]] == [7, 17]
    assert "failed=true" in first.data["next"]
    rest = viewer_client.get(first.data["next"])
    assert [i["index"] for i in rest.data["results"]] == [27]
    assert rest.data["next"] is None

    everything = _items(viewer_client, run, failed="false", limit=1000)
    assert everything.data["count"] == 30
    assert everything.data["results"][8]["output"] == {"item": 8, "done": True}


def test_missing_run_node_or_map_gets_a_404_naming_it(viewer_client, publish):
    workflow = publish(flow(("start", "trigger.manual"), ("slow", "test.sleep"),
                            ("later", "core.noop"),
                            edges=[("start", "slow"), ("slow", "later")]))
    run = services.run_start(workflow=workflow)  # "slow" waits for a worker: "later" not run

    missing = uuid.uuid4()
    response = viewer_client.get(f"/api/runs/{missing}/nodes/map/items/")
    assert response.status_code == 404
    assert response.data == {"code": "run_not_found", "detail": f"Run {missing} does not exist.",
                             "run": str(missing)}

    response = _items(viewer_client, run, node_id="nope")
    assert response.status_code == 404
    assert response.data["code"] == "node_not_found"
    assert response.data["detail"] == f"Run {run.pk} has no node 'nope'."
    assert response.data["node_id"] == "nope"

    response = _items(viewer_client, run, node_id="later")
    assert response.status_code == 404
    assert response.data["code"] == "node_not_found"
    assert response.data["detail"] == f"Node 'later' has not run yet in run {run.pk}."

    response = _items(viewer_client, run, node_id="start")
    assert response.status_code == 404
    assert response.data["code"] == "not_a_map"
    assert response.data["detail"] == ("Node 'start' (trigger.manual) is not a map: "
                                       "it has no items.")


@pytest.mark.parametrize(("params", "field", "code"), [
    ({"after": "abc"}, "after", "invalid"), ({"after": "-1"}, "after", "min_value"),
    ({"limit": "0"}, "limit", "min_value"), ({"limit": "1001"}, "limit", "max_value"),
    ({"limit": "ten"}, "limit", "invalid"), ({"failed": "maybe"}, "failed", "invalid"),
])
def test_bad_parameters_get_a_400_naming_them(viewer_client, run_map, params, field, code):
    run = run_map(3)
    response = _items(viewer_client, run, **params)
    assert response.status_code == 400
    assert response.data["code"] == code
    assert response.data["detail"] == f"Invalid input: {field}."
    assert list(response.data["errors"]) == [field]
    assert response.data["errors"][field][0]  # a message for people


def test_viewers_read_items_and_anonymous_callers_are_refused(viewer_client, api_client,
                                                             run_map):
    run = run_map(3)
    assert _items(viewer_client, run).data["count"] == 3
    response = _items(api_client, run)
    assert response.status_code == 401
    assert MapItem.objects.filter(node_run__run=run).count() == 3


def test_a_sub_workflow_that_returns_a_large_map_result_points_at_the_child_runs_items(
        viewer_client, publish, drive_map, django_capture_on_commit_callbacks):
    item = publish(ITEM_FLOW, name="item")
    inner = publish(map_graph(item.pk, chunk_size=1000, disabled_after=True), name="inner")
    outer = publish(flow(("start", "trigger.manual"),
                         ("sub", "flow.subworkflow", {"workflow_id": str(inner.pk)}),
                         edges=[("start", "sub")]), name="outer")
    run = services.run_start(workflow=outer, input={"count": 1001})
    with django_capture_on_commit_callbacks():  # the worker's delivery of "sub"
        assert services.node_run_execute(
            node_run_id=NodeRun.objects.get(run=run, node_id="sub").pk) == "waiting"
    child = Run.objects.get(parent_node_run__run=run)
    drive_map(child)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    nodes = _node_runs(viewer_client, run)
    assert nodes["sub"]["outputs"]["out"]["$weft_ref"]["count"] == 1001
    assert nodes["sub"]["items_url"] == f"/api/runs/{child.pk}/nodes/map/items/"
    page = viewer_client.get(nodes["sub"]["items_url"], {"after": 999})
    assert page.data["count"] == 1001
    assert page.data["results"][0]["output"] == {"item": 1000, "done": True}
