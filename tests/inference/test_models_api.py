"""Models of a real Triton server (PyTriton, demo models) through the API, over
HTTP and gRPC: listing, metadata, "try it", and bad input named precisely."""

from __future__ import annotations

import pytest


def _path(server, *rest: str) -> str:
    return "/".join([f"/api/inference/servers/{server.pk}", *rest]) + "/"


def test_models_are_listed_with_versions_and_readiness(client_for, registered_server):
    response = client_for("viewer").get(_path(registered_server, "models"))
    assert response.status_code == 200, response.data
    models = {m["name"]: m for m in response.data["models"]}
    assert set(models) == {"ticket_urgency", "invoice_risk", "echo"}
    assert all(m["ready"] and m["versions"] for m in models.values())


def test_the_model_list_matches_the_schema(contract_call, create_user, registered_server):
    response = contract_call("GET", _path(registered_server, "models"),
                             user=create_user(roles=["viewer"]),
                             operation="/api/inference/servers/{server_id}/models/")
    assert response.status_code == 200
    assert response.json["server"] == registered_server.name


def test_model_metadata_has_tensors_and_batch_size(client_for, registered_server):
    response = client_for("viewer").get(_path(registered_server, "models", "invoice_risk"))
    assert response.status_code == 200, response.data
    assert response.data["max_batch_size"] == 64
    assert response.data["inputs"] == [
        {"name": "features", "datatype": "FP32", "shape": [8], "optional": False}]
    assert {o["name"] for o in response.data["outputs"]} == {
        "probabilities", "label", "explanation", "explanation_features"}


def test_try_it_classifies_and_is_audited_as_the_model(client_for, registered_server,
                                                       audit_since):
    editor = client_for("editor")
    response = editor.post(_path(registered_server, "models", "ticket_urgency", "infer"),
                           {"inputs": {"text": "Production is down, nobody can log in!"}},
                           format="json")
    assert response.status_code == 200, response.data
    assert response.data["label"] in {"high", "critical"}
    assert 0 < response.data["confidence"] <= 1
    (event,) = audit_since(action="inference.call")
    assert event.actor_type == "model"
    assert event.actor_id == f"ticket_urgency:{response.data['version']}"
    assert event.data["confidence"] == response.data["confidence"]
    assert event.data["requested_by"] == editor.user.username


def test_try_it_batches_a_list(client_for, registered_server):
    response = client_for("editor").post(
        _path(registered_server, "models", "ticket_urgency", "infer"),
        {"inputs": {"text": ["Everything is broken", "Thanks, all good"]}}, format="json")
    assert response.status_code == 200, response.data
    assert response.data["count"] == 2


def test_a_model_that_does_not_exist_is_404(client_for, registered_server):
    viewer, editor = client_for("viewer"), client_for("editor")
    for response in (
        viewer.get(_path(registered_server, "models", "nope")),
        editor.post(_path(registered_server, "models", "nope", "infer"), {"inputs": {}},
                    format="json"),
    ):
        assert response.status_code == 404, response.data
        assert response.data["code"] == "model_not_found"
        assert response.data["model"] == "nope"


@pytest.mark.parametrize(("inputs", "name"), [
    ({"features": [1.0, 2.0, 3.0]}, "features"),  # 3 values where the model takes 8
    ({"features": ["a", 0, 0, 0, 0, 0, 0, 0]}, "features"),  # not a number for FP32
    ({"features": [0] * 8, "colour": "red"}, "colour"),  # no such input
])
def test_bad_input_is_400_naming_the_input(client_for, registered_server, inputs, name):
    response = client_for("editor").post(
        _path(registered_server, "models", "invoice_risk", "infer"), {"inputs": inputs},
        format="json")
    assert response.status_code == 400, response.data
    assert response.data["code"] == "invalid_input"
    assert response.data["input"] == name
    assert f"inputs.{name}" in response.data["errors"]
