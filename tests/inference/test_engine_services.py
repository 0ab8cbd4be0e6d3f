"""The services the engine plugs into NodeContext: `triton_resolve` finds the
server row by name, `inference_node_record` audits each call as the model."""

from __future__ import annotations

from apps.inference.nodes import TritonInference, TritonInferenceConfig
from apps.nodes.base import NodeContext
from apps.runs.node_services import node_services


def test_the_node_runs_through_the_engine_services(registered_server, audit_since):
    context = NodeContext(
        run_id="run-7", node_id="classify", attempt=1,
        inputs={"in": {"subject": "Everything is down", "body": "All customers affected"}},
        services=node_services())  # exactly what the engine hands every node
    config = TritonInferenceConfig(server=registered_server.name, model="ticket_urgency",
                                   inputs={"text": 'input.subject + ". " + input.body'})
    out = TritonInference().execute(context, config).ports["out"]
    (event,) = audit_since(action="inference.call")
    assert (event.actor_type, event.run_id) == ("model", "run-7")
    assert event.data["label"] == out["label"]
    assert event.data["node_id"] == "classify"
    assert event.data["via"] == "node"
