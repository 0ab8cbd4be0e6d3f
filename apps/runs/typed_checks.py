"""Type errors a run of the draft would meet, found before it runs: each expression and
template of the draft is checked with the types of the data its node would see (its
pins, what the nodes before it last produced in a test run, the trigger's sample input),
as the editor checks a field while it is typed. `input.amount * 0.9` where the sample's
amount is an integer is reported with its fix (`double(input.amount)`).

The samples are built as the editor builds them (frontend expressionScope.samplesFor):
`input` is what arrives on the node's input port(s); `nodes` only when every node before
it has data (a node without data would read as unknown); `run` when the trigger's data
is an object. Errors found without types are the validator's and are not repeated here.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from apps.expressions.core import check, check_template
from apps.expressions.fields import ExpressionField, expression_fields
from apps.expressions.services import expression_check
from apps.nodes.base import NodeType
from apps.nodes.registry import registry
from apps.runs.test_data import latest_outputs
from apps.workflows.graph import Problem
from apps.workflows.models import Workflow

TYPE_ERROR = "expression_type_error"


def _first_port(node_type: type[NodeType], config: Any) -> str | None:
    ports = node_type.output_ports(config)
    return ports[0].name if ports else None


def _draft_outputs(workflow: Workflow, graph: dict[str, Any],
                   parsed: dict[str, tuple[type[NodeType], Any]]) -> dict[str, dict[str, Any]]:
    """node id -> its data by output port: its pin, else its latest test data, else (a
    trigger) its sample input on its first port."""
    outputs: dict[str, dict[str, Any]] = {
        node_id: data.outputs
        for node_id, data in latest_outputs(workflow=workflow, draft=graph).items()
        if node_id in parsed}
    for pin in workflow.pins.filter(node_id__in=list(parsed)):
        if isinstance(pin.outputs, dict):
            outputs[pin.node_id] = pin.outputs
    for node_id, (node_type, config) in parsed.items():
        sample = getattr(config, "sample_input", None)
        if node_id not in outputs and node_type.is_trigger and isinstance(sample, dict):
            port = _first_port(node_type, config)
            if port:
                outputs[node_id] = {port: sample}
    return outputs


def _samples(node_id: str, edges: list[dict[str, Any]], outputs: dict[str, dict[str, Any]],
             parsed: dict[str, tuple[type[NodeType], Any]], run_input: Any) -> dict[str, Any]:
    incoming = [e for e in edges if e.get("target") == node_id]
    before, todo = set(), [node_id]
    while todo:
        current = todo.pop()
        for edge in edges:
            if edge.get("target") == current and edge.get("source") not in before:
                before.add(edge.get("source"))
                todo.append(edge.get("source"))
    before.discard(node_id)

    def value_on(port: str) -> Any:
        for edge in incoming:
            if edge.get("target_port") == port:
                value = outputs.get(edge.get("source"), {}).get(edge.get("source_port"))
                if value is not None:
                    return value
        return None

    samples: dict[str, Any] = {}
    ports = sorted({e.get("target_port") for e in incoming})
    value = value_on(ports[0]) if len(ports) == 1 else (
        {port: value_on(port) for port in ports} if ports else None)
    if value is not None:
        samples["input"] = value
    if before and all(source in outputs for source in before):
        nodes = {}
        for source in before:
            node_type, config = parsed.get(source, (None, None))
            first = _first_port(node_type, config) if node_type else None
            data = outputs[source]
            nodes[source] = {"output": data.get(first) if first else next(iter(data.values()),
                                                                               None),
                             "outputs": data}
        samples["nodes"] = nodes
    if isinstance(run_input, dict) and run_input:
        samples["run"] = {"id": "", "input": run_input, "trigger": "manual", "trace_id": "",
                          "workflow_id": "", "workflow": {"id": "", "version": 0}}
    return samples


def _typed_error(field: ExpressionField, samples: dict[str, Any]):
    """The error with the samples' types, when checking without them finds none."""
    untyped = (check_template(field.text, names=field.names) if field.template
               else check(field.text, names=field.names))
    if untyped is not None:
        return None
    return expression_check(expression=field.text, template=field.template,
                            names=field.names, samples=samples)


def graph_typed_problems(*, workflow: Workflow, graph: dict[str, Any]) -> list[Problem]:
    """Type errors of the draft's expressions on the data its nodes would see."""
    graph = registry.upgrade_graph(graph)
    nodes = [n for n in graph.get("nodes", []) if isinstance(n, dict) and not n.get("disabled")]
    edges = [e for e in graph.get("edges", []) if isinstance(e, dict)]
    parsed: dict[str, tuple[type[NodeType], Any]] = {}
    for node in nodes:
        node_type = registry.get(node.get("type"), node.get("version", 1))
        if node_type is None or not isinstance(node.get("config", {}), dict):
            continue
        try:
            parsed[node["id"]] = (node_type, node_type.Config.model_validate(node.get("config",
                                                                                       {})))
        except ValidationError:
            continue  # the validator reports it
    if not parsed:
        return []
    outputs = _draft_outputs(workflow, graph, parsed)
    trigger = next((nid for nid, (t, _) in parsed.items() if t.is_trigger), None)
    run_input = next(iter(outputs.get(trigger, {}).values()), None) if trigger else None
    problems = []
    for node in nodes:
        if node.get("id") not in parsed:
            continue
        node_type, config = parsed[node["id"]]
        samples = _samples(node["id"], edges, outputs, parsed, run_input)
        if not samples:
            continue
        name = node.get("name") if isinstance(node.get("name"), str) else ""
        for field in expression_fields(config):
            error = _typed_error(field, samples)
            if error is None:
                continue
            at = f" (at character {error.position})" if error.position is not None else ""
            path = re.sub(r"\[(\d+)\]", r".\1", field.path)
            problems.append(Problem(
                code=TYPE_ERROR, node_id=node["id"], field=f"config.{path}",
                message=f"Node {(name.strip() or node['id'])!r}, field {path!r}: "
                        f"{error.message}{at} (with the types of the node's sample data)"))
    return problems
