"""Answers that once disagreed with /api/schema/ (found by schema fuzzing), each checked
against the schema by `contract_call`."""

from __future__ import annotations

import pytest

from apps.runs import services as run_services
from tests.fixtures.runs import flow

LISTS = ["/api/workflows/", "/api/users/", "/api/auth/tokens/", "/api/credentials/",
         "/api/inference/servers/", "/api/variables/"]


@pytest.fixture
def admin(create_user):
    return create_user(roles=["admin"])


@pytest.mark.parametrize("path", LISTS)
def test_paginated_lists_are_documented_as_pages(contract_call, admin, path):
    response = contract_call("GET", path, user=admin)
    assert set(response.json) >= {"count", "next", "previous", "results"}


def test_runs_are_documented_as_keyset_pages(contract_call, admin, publish):
    workflow = publish(flow(("start", "trigger.manual")), user=admin)
    for _ in range(3):
        run_services.run_start(workflow=workflow, input={"order": "A-1"})
    response = contract_call("GET", "/api/runs/", user=admin, query={"limit": 2})
    assert set(response.json) == {"next", "next_cursor", "results"}
    assert len(response.json["results"]) == 2
    assert response.json["next_cursor"]


def test_a_workflows_versions_are_documented_as_a_page(contract_call, admin, publish):
    workflow = publish(flow(("start", "trigger.manual")), user=admin)
    response = contract_call("GET", f"/api/workflows/{workflow.pk}/versions/", user=admin,
                             operation="/api/workflows/{workflow_id}/versions/")
    assert response.json["count"] == 1


def test_a_page_past_the_end_is_a_documented_404(contract_call, admin):
    response = contract_call("GET", "/api/workflows/", user=admin, query={"page": 99})
    assert response.status_code == 404
    assert response.json["code"] == "not_found"


def test_node_types_are_documented_as_a_list(contract_call, admin):
    response = contract_call("GET", "/api/node-types/", user=admin)
    assert {"trigger.manual", "http.request"} <= {t["type"] for t in response.json}


def test_a_user_without_an_email_matches_the_schema(contract_call, admin):
    response = contract_call("POST", "/api/users/", user=admin, json={"username": "nomail"})
    assert response.status_code == 201
    assert response.json["email"] == ""


def test_errors_are_documented_in_the_error_shape(contract_call, admin, create_user):
    assert contract_call("GET", "/api/workflows/").status_code == 401
    viewer = create_user(roles=["viewer"])
    assert contract_call("GET", "/api/users/", user=viewer).status_code == 403
    bad = contract_call("POST", "/api/workflows/", user=admin, json={"name": ""})
    assert bad.status_code == 400
    assert "name" in bad.json["errors"]


def test_the_kill_switch_documents_its_body_and_an_unknown_workflow(contract_call, admin):
    switches = contract_call("GET", "/api/engine/pause/", user=admin)
    assert switches.json == {"paused": False, "reason": "", "workflows": []}
    unknown = contract_call("PUT", "/api/engine/pause/", user=admin,
                            json={"paused": True,
                                  "workflow": "00000000-0000-0000-0000-000000000000"})
    assert unknown.status_code == 404


def test_cancelling_a_finished_run_is_a_documented_409(contract_call, admin, publish):
    workflow = publish(flow(("start", "trigger.manual")), user=admin)
    run = run_services.run_start(workflow=workflow, input={}, trigger="manual", user=admin)
    contract_call("POST", f"/api/runs/{run.pk}/cancel/", user=admin,
                  operation="/api/runs/{run_id}/cancel/")
    again = contract_call("POST", f"/api/runs/{run.pk}/cancel/", user=admin,
                          operation="/api/runs/{run_id}/cancel/")
    assert again.status_code == 409


def test_a_workflows_runtime_is_documented(contract_call, admin, publish):
    workflow = publish(flow(("start", "trigger.manual")), user=admin)
    response = contract_call("GET", f"/api/workflows/{workflow.pk}/runtime/", user=admin,
                             operation="/api/workflows/{workflow_id}/runtime/")
    assert response.json["webhook_url"].startswith("http")


def test_an_unreachable_triton_server_is_a_documented_503(contract_call, admin,
                                                          create_triton_server):
    server = create_triton_server(user=admin)  # nobody listens on its port
    response = contract_call("GET", f"/api/inference/servers/{server.pk}/models/", user=admin,
                             operation="/api/inference/servers/{server_id}/models/")
    assert response.status_code == 503


def test_an_api_path_no_route_matches_answers_json(contract_call, admin):
    response = contract_call("GET", "/api/runs/not-a-uuid/", user=admin,
                             operation="/api/runs/{run_id}/")
    assert response.status_code == 404
    assert response.json == {"code": "not_found", "detail": "Not found."}


def test_a_maps_run_and_its_items_match_the_schema(contract_call, admin, run_map):
    run = run_map(3, chunk_size=2)
    detail = contract_call("GET", f"/api/runs/{run.pk}/", user=admin,
                           operation="/api/runs/{run_id}/")
    assert detail.json["status"] == "succeeded"
    page = contract_call("GET", f"/api/runs/{run.pk}/nodes/map/items/", user=admin,
                         query={"limit": 2},
                         operation="/api/runs/{run_id}/nodes/{node_id}/items/")
    assert page.json["count"] == 3
    assert page.json["next"] is not None


def test_saving_a_stale_draft_is_a_documented_409(contract_call, admin, create_workflow,
                                                  simple_graph):
    workflow = create_workflow(user=admin)
    response = contract_call("PATCH", f"/api/workflows/{workflow.pk}/", user=admin,
                             json={"graph": simple_graph, "revision": workflow.revision + 5},
                             operation="/api/workflows/{workflow_id}/")
    assert response.status_code == 409
    assert response.json["code"] == "stale_revision"


def test_a_credential_name_taken_is_a_documented_409(contract_call, admin, create_credential):
    create_credential(name="shared")
    other = create_credential(name="other")
    response = contract_call("PATCH", f"/api/credentials/{other.pk}/", user=admin,
                             json={"name": "shared"},
                             operation="/api/credentials/{credential_id}/")
    assert response.status_code == 409
    assert response.json["code"] == "duplicate_name"
