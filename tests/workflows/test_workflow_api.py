import json

import pytest

from apps.workflows.models import Workflow, WorkflowVersion
from tests.fixtures.workflows import flow

pytestmark = pytest.mark.django_db


def test_create_list_search_and_read(editor_client, simple_graph):
    created = editor_client.post("/api/workflows/", {"name": "Invoices", "graph": simple_graph},
                                 format="json")
    assert created.status_code == 201, created.data
    editor_client.post("/api/workflows/", {"name": "Tickets"}, format="json")
    listing = editor_client.get("/api/workflows/?search=invo")
    assert listing.status_code == 200
    assert [w["name"] for w in listing.data["results"]] == ["Invoices"]
    detail = editor_client.get(f"/api/workflows/{created.data['id']}/")
    assert detail.data["graph"] == simple_graph
    assert detail.data["revision"] == 1
    assert detail.data["latest_version"] is None


def test_list_is_paginated(editor_client, create_workflow):
    for i in range(7):
        create_workflow(name=f"wf {i}")
    page = editor_client.get("/api/workflows/?page_size=5")
    assert page.data["count"] == 7
    assert len(page.data["results"]) == 5
    assert page.data["next"]


def test_saving_with_the_current_revision_bumps_it(editor_client, create_workflow,
                                                   simple_graph):
    workflow = create_workflow()
    simple_graph["nodes"][1]["name"] = "Renamed"
    response = editor_client.patch(f"/api/workflows/{workflow.pk}/",
                                   {"graph": simple_graph, "revision": 1}, format="json")
    assert response.status_code == 200, response.data
    assert response.data["revision"] == 2
    assert response.data["graph"]["nodes"][1]["name"] == "Renamed"


def test_stale_revision_gets_409_and_writes_nothing(editor_client, client_for, create_workflow,
                                                    simple_graph):
    workflow = create_workflow()
    other = client_for("editor")
    first = dict(simple_graph, nodes=[*simple_graph["nodes"]])
    first["nodes"][1] = {**first["nodes"][1], "name": "theirs"}
    assert other.patch(f"/api/workflows/{workflow.pk}/", {"graph": first, "revision": 1},
                       format="json").status_code == 200
    mine = dict(simple_graph)
    mine["notes"] = [{"id": "n1", "text": "mine", "position": {"x": 0, "y": 0}}]
    response = editor_client.patch(f"/api/workflows/{workflow.pk}/",
                                   {"graph": mine, "revision": 1}, format="json")
    assert response.status_code == 409
    assert response.data["code"] == "stale_revision"
    assert response.data["current_revision"] == 2
    assert response.data["graph"]["nodes"][1]["name"] == "theirs"
    assert response.data["updated_by"] == other.user.username
    workflow.refresh_from_db()
    assert workflow.graph["notes"] == []


def test_graph_without_revision_is_refused(editor_client, create_workflow, simple_graph):
    workflow = create_workflow()
    response = editor_client.patch(f"/api/workflows/{workflow.pk}/", {"graph": simple_graph},
                                   format="json")
    assert response.status_code == 400
    assert "revision" in response.data["errors"]


def test_draft_may_be_unfinished_but_not_malformed(editor_client, create_workflow):
    workflow = create_workflow()
    unfinished = flow(("pass", "core.noop"))  # no trigger, unconnected input
    ok = editor_client.patch(f"/api/workflows/{workflow.pk}/",
                             {"graph": unfinished, "revision": 1}, format="json")
    assert ok.status_code == 200
    malformed = {"nodes": [{"id": "a", "type": "core.noop", "bogus": 1}], "edges": []}
    bad = editor_client.patch(f"/api/workflows/{workflow.pk}/",
                              {"graph": malformed, "revision": 2}, format="json")
    assert bad.status_code == 400
    assert bad.data["code"] == "invalid_graph"
    assert bad.data["problems"][0]["node_id"] == "a"
    workflow.refresh_from_db()
    assert workflow.revision == 2


def test_validate_returns_problems_naming_nodes(editor_client, create_workflow):
    workflow = create_workflow(graph=flow(("pass", "core.noop")))
    response = editor_client.post(f"/api/workflows/{workflow.pk}/validate/", {}, format="json")
    assert response.status_code == 200
    assert response.data["valid"] is False
    found = {(p["code"], p.get("node_id")) for p in response.data["problems"]}
    assert ("missing_input", "pass") in found
    assert ("no_trigger", None) in found


def test_publish_versions_read_and_restore(editor_client, create_workflow, simple_graph):
    workflow = create_workflow()
    v1 = editor_client.post(f"/api/workflows/{workflow.pk}/publish/", {"note": "first"},
                            format="json")
    assert v1.status_code == 201
    assert v1.data["number"] == 1
    changed = dict(simple_graph)
    changed["nodes"] = [simple_graph["nodes"][0]]
    changed["edges"] = []
    editor_client.patch(f"/api/workflows/{workflow.pk}/", {"graph": changed, "revision": 1},
                        format="json")
    v2 = editor_client.post(f"/api/workflows/{workflow.pk}/publish/", {}, format="json")
    assert v2.data["number"] == 2
    versions = editor_client.get(f"/api/workflows/{workflow.pk}/versions/")
    assert [v["number"] for v in versions.data["results"]] == [2, 1]
    one = editor_client.get(f"/api/workflows/{workflow.pk}/versions/1/")
    assert one.data["graph"] == simple_graph
    assert one.data["note"] == "first"
    restored = editor_client.post(f"/api/workflows/{workflow.pk}/versions/1/restore/")
    assert restored.status_code == 200
    assert restored.data["graph"] == simple_graph
    assert restored.data["revision"] == 3
    assert restored.data["latest_version"] == 2
    # the versions themselves never change
    assert WorkflowVersion.objects.get(workflow=workflow, number=2).graph == changed


def test_publish_refuses_an_invalid_graph_with_the_validator_errors(editor_client,
                                                                   create_workflow):
    workflow = create_workflow(graph=flow(("start", "trigger.manual"),
                                              ("pass", "core.noop")))
    response = editor_client.post(f"/api/workflows/{workflow.pk}/publish/", {}, format="json")
    assert response.status_code == 400
    assert response.data["code"] == "invalid_graph"
    assert {"code": "missing_input", "node_id": "pass"}.items() <= response.data["problems"][
        0].items()
    assert not WorkflowVersion.objects.filter(workflow=workflow).exists()


def test_delete_is_soft_and_versions_stay(editor_client, create_workflow):
    workflow = create_workflow()
    editor_client.post(f"/api/workflows/{workflow.pk}/publish/", {}, format="json")
    assert editor_client.delete(f"/api/workflows/{workflow.pk}/").status_code == 204
    assert editor_client.get(f"/api/workflows/{workflow.pk}/").status_code == 404
    assert Workflow.objects.filter(pk=workflow.pk, deleted_at__isnull=False).exists()
    assert WorkflowVersion.objects.filter(workflow=workflow).count() == 1


def test_export_then_import_round_trips(editor_client, create_workflow, simple_graph):
    workflow = create_workflow(name="Original", description="desc")
    exported = editor_client.get(f"/api/workflows/{workflow.pk}/export/")
    assert exported.status_code == 200
    assert exported.data == {"weft_export": 1, "name": "Original", "description": "desc",
                             "graph": simple_graph}
    imported = editor_client.post("/api/workflows/import/", exported.data, format="json")
    assert imported.status_code == 201
    assert imported.data["id"] != str(workflow.pk)
    assert imported.data["graph"] == simple_graph


def test_import_of_an_invalid_graph_creates_nothing(editor_client):
    before = Workflow.objects.count()
    document = {"weft_export": 1, "name": "Broken",
                "graph": flow(("start", "trigger.manual"), ("x", "no.such.type"),
                                  edges=[("start", "x")])}
    response = editor_client.post("/api/workflows/import/", document, format="json")
    assert response.status_code == 400
    assert response.data["problems"][0]["node_id"] == "x"
    assert Workflow.objects.count() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": 42, "graph": []}, "graph"),
        ({"name": ""}, "name"),
        ({"name": "ok", "owner": 3}, "owner"),
        ({"description": "no name"}, "name"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(editor_client, body, field):
    before = Workflow.objects.count()
    response = editor_client.post("/api/workflows/", body, format="json")
    assert response.status_code == 400
    assert field in response.data["errors"]
    assert Workflow.objects.count() == before


def test_malformed_json_is_a_400_with_a_code(editor_client):
    response = editor_client.post("/api/workflows/", data='{"name": ', content_type=
                                  "application/json")
    assert response.status_code == 400
    assert response.data["code"] == "malformed_json"


def test_oversize_body_is_refused(editor_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    big = {"name": "big", "description": "x" * 4000,
           "graph": {"nodes": [], "edges": [], "notes": [
               {"id": f"n{i}", "text": "y" * 100, "position": {"x": 0, "y": 0}}
               for i in range(100)]}}
    response = editor_client.post("/api/workflows/", data=json.dumps(big),
                                  content_type="application/json")
    assert response.status_code == 413
    assert response.data["code"] == "too_large"
    assert not Workflow.objects.filter(name="big").exists()


def test_node_types_serve_the_palette_with_schemas(editor_client):
    response = editor_client.get("/api/node-types/")
    assert response.status_code == 200
    by_type = {t["type"]: t for t in response.data}
    manual = by_type["trigger.manual"]
    assert manual["is_trigger"] is True
    assert manual["inputs"] == []
    assert manual["config_schema"]["properties"]["sample_input"]["type"] == "object"
    assert by_type["core.noop"]["inputs"][0]["name"] == "in"
