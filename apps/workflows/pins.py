"""Pinned data of the draft: a node's output fixed by the builder, used by test runs of
the draft instead of running the node (no HTTP call, no inference). Pins belong to the
draft: they never apply to published versions, and publishing with pins only warns.

A pin is set from a past run (the node's latest output there, one click in the run
panel) or from JSON the builder pasted; either way it is data from outside, checked on
the way in (nesting, NUL characters, lone surrogates, size) and stored as given. The
engine escapes it like any node's output when a test run uses it (apps.runs.pinned).
"""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction

from apps.audit.services import audit_record
from apps.core.errors import NotFound, Unprocessable
from apps.core.inbound import JsonProblem, json_problem
from apps.nodes.registry import registry
from apps.runs import refs
from apps.runs.models import NodeRun, NodeStatus, Run
from apps.workflows.models import NodePin, Workflow

# The most JSON text one pin may hold: pins are for trying a flow with realistic data,
# not for storing data sets.
PIN_MAX_BYTES = 1_000_000


def _draft_node(workflow: Workflow, node_id: str) -> dict[str, Any]:
    for node in registry.upgrade_graph(workflow.graph).get("nodes", []):
        if isinstance(node, dict) and node.get("id") == node_id:
            return node
    raise NotFound(f"The draft has no node {node_id!r}.", code="node_not_found",
                   node_id=node_id)


def _output_ports(node: dict[str, Any]) -> list[str]:
    node_type = registry.get(node["type"], node.get("version", 1))
    if node_type is None:
        return []
    try:
        config = node_type.Config.model_validate(node.get("config") or {})
    except ValueError:
        return [p.name for p in node_type.outputs]
    return [p.name for p in node_type.output_ports(config)]


def _checked(outputs: Any, node: dict[str, Any]) -> dict[str, Any]:
    label = f"Node {node.get('name') or node['id']!r}"
    ports = _output_ports(node)
    if not ports:
        raise Unprocessable(f"{label} has no output to pin.", code="no_output",
                            errors={"outputs": [f"{label} has no output port."]})
    unknown = sorted(set(outputs) - set(ports))
    if unknown:
        raise Unprocessable(
            f"{label} has no output port {unknown[0]!r} (it has: {', '.join(ports)}).",
            code="unknown_port", errors={f"outputs.{name}": ["No such output port."]
                                         for name in unknown})
    problem: JsonProblem | None = json_problem(outputs, root="outputs")
    if problem is not None:
        raise Unprocessable(f"The pinned data cannot be used: {problem.path} "
                            f"{problem.message}.", code=problem.code,
                            errors={problem.path: [problem.message]})
    size = len(json.dumps(outputs, ensure_ascii=False).encode())
    if size > PIN_MAX_BYTES:
        raise Unprocessable(f"The pinned data is {size} bytes; a pin holds at most "
                            f"{PIN_MAX_BYTES}.", code="too_large",
                            errors={"outputs": [f"At most {PIN_MAX_BYTES} bytes."]})
    return outputs


def pin_outputs_from_run(*, workflow: Workflow, run_id, node_id: str) -> dict[str, Any]:
    """What a node gave in a run of this workflow (its latest attempt that succeeded),
    as the builder's data: large values read in full, escaping taken off."""
    run = Run.objects.filter(pk=run_id, workflow=workflow).only("pk").first()
    if run is None:
        raise Unprocessable(f"This workflow has no run {run_id}.", code="run_not_found",
                            errors={"run": ["No such run of this workflow."]})
    row = (NodeRun.objects.filter(run=run, node_id=node_id, status=NodeStatus.SUCCEEDED)
           .order_by("-attempt").only("outputs").first())
    if row is None:
        raise Unprocessable(f"Node {node_id!r} has no output in run {run_id}.",
                            code="no_output", errors={"run": [f"Node {node_id!r} did not "
                                                              "succeed in this run."]})
    outputs = refs.materialise_ports(row.outputs or {}) or {}
    return refs.unescape({port: refs.materialise(v) for port, v in outputs.items()})


@transaction.atomic
def pin_set(*, workflow: Workflow, user, node_id: str, outputs: dict[str, Any] | None = None,
            output: Any = None, has_output: bool = False, run_id=None) -> NodePin:
    """Pin a node of the draft: `outputs` by port, `output` for its first port, or the
    node's output in the run `run_id`."""
    node = _draft_node(workflow, node_id)
    if run_id is not None:
        outputs = pin_outputs_from_run(workflow=workflow, run_id=run_id, node_id=node_id)
    elif has_output:
        ports = _output_ports(node)
        outputs = {ports[0]: output} if ports else {"out": output}
    elif outputs is None:
        raise Unprocessable("Give the data to pin: 'output', 'outputs' or 'run'.",
                            code="required", errors={"output": ["Give one of output, "
                                                                "outputs, run."]})
    outputs = _checked(outputs, node)
    pin, _ = NodePin.objects.update_or_create(
        workflow=workflow, node_id=node_id,
        defaults={"outputs": outputs, "source_run": run_id, "updated_by": user})
    audit_record(action="workflow.pin", actor=user, target=workflow,
                 data={"node_id": node_id, "source_run": str(run_id) if run_id else None})
    return pin


def pin_delete(*, workflow: Workflow, user, node_id: str) -> None:
    deleted, _ = NodePin.objects.filter(workflow=workflow, node_id=node_id).delete()
    if not deleted:
        raise NotFound(f"Node {node_id!r} is not pinned.", code="not_pinned", node_id=node_id)
    audit_record(action="workflow.unpin", actor=user, target=workflow,
                 data={"node_id": node_id})


def pin_list(*, workflow: Workflow) -> list[NodePin]:
    """The pins of nodes that are in the draft (a deleted node's pin stays, unused, so
    that undoing the delete brings it back)."""
    in_draft = {n.get("id") for n in workflow.graph.get("nodes", []) if isinstance(n, dict)}
    return [p for p in NodePin.objects.filter(workflow=workflow).select_related("updated_by")
            if p.node_id in in_draft]


def draft_pins(*, workflow: Workflow) -> dict[str, dict[str, Any]]:
    """node id -> pinned outputs, for a test run of the draft."""
    return {p.node_id: p.outputs for p in pin_list(workflow=workflow)}
