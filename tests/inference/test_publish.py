"""Publishing checks each inference node against its model's metadata on the
real server; problems name the node and the publish is refused."""

from __future__ import annotations

import pytest

from tests.fixtures.live import free_port
from tests.fixtures.workflows import flow


def _graph(server: str, **config):
    graph = flow(("start", "trigger.manual"), ("classify", "inference.triton"),
                     edges=[("start", "classify")])
    graph["nodes"][1]["config"] = {"server": server, "model": "ticket_urgency",
                                   "inputs": {"text": "input.subject"}, **config}
    return graph


def _publish(client, workflow):
    return client.post(f"/api/workflows/{workflow.pk}/publish/", {}, format="json")


def test_a_node_that_fits_its_model_publishes(editor_client, create_workflow,
                                              registered_server):
    workflow = create_workflow(user=editor_client.user, graph=_graph(registered_server.name))
    response = _publish(editor_client, workflow)
    assert response.status_code == 201, response.data


@pytest.mark.parametrize(("config", "field", "words"), [
    ({"inputs": {"txt": "input.subject"}}, "config.inputs.txt", "has no input 'txt'"),
    ({"outputs": ["score"]}, "config.outputs", "has no output 'score'"),
    ({"model": "nope"}, "config.model", "'nope' is not available"),
])
def test_a_mismatch_refuses_the_publish_naming_the_node(
        editor_client, create_workflow, registered_server, config, field, words):
    workflow = create_workflow(user=editor_client.user,
                               graph=_graph(registered_server.name, **config))
    response = _publish(editor_client, workflow)
    assert response.status_code == 400, response.data
    assert response.data["code"] == "invalid_graph"
    problems = [p for p in response.data["problems"] if p["node_id"] == "classify"]
    assert problems, response.data
    assert {p["code"] for p in problems} == {"model_mismatch"}
    assert problems[0]["field"] == field
    assert words in problems[0]["message"]
    assert not workflow.versions.exists()


def test_a_server_that_is_down_or_unknown_is_a_problem_on_the_node(
        editor_client, create_workflow, create_triton_server):
    create_triton_server(name="down", url=f"127.0.0.1:{free_port()}")
    for server, code in (("down", "server_unavailable"), ("missing", "unknown_server")):
        workflow = create_workflow(user=editor_client.user, graph=_graph(server))
        response = _publish(editor_client, workflow)
        assert response.status_code == 400, response.data
        (problem,) = response.data["problems"]
        assert (problem["code"], problem["node_id"]) == (code, "classify")
        assert repr(server) in problem["message"]
