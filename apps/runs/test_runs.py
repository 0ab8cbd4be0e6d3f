"""Test runs of the draft: what "Test run", "Run this node" and "Run up to here" start.

A test run runs the saved draft, never a published version. The graph it runs is kept
as an immutable *test snapshot* (a WorkflowVersion of kind `test`: no number, never
listed among the versions) with the run, so the run can always be drawn on the graph
it ran. Its nodes that are pinned in the draft give their pins instead of running
(apps.runs.pinned). Test runs are marked `test` (Run.mode): they never fire error
triggers and do not count toward the concurrency limit.

"Run this node" runs a node with the nodes before it: each one that has data from an
earlier test run of this draft (apps.runs.test_data), or a pin, gives that data; the
others run. "Run up to here" runs every node before it again (pins still apply).
Nodes after it, or on other branches, are left out of the snapshot.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.core.errors import Unprocessable
from apps.nodes.registry import registry
from apps.runs import services, test_data
from apps.runs.models import Run, RunMode
from apps.workflows.graph import Problem
from apps.workflows.models import VersionKind, Workflow, WorkflowVersion
from apps.workflows.pins import draft_pins
from apps.workflows.services import graph_runnable_problems


def ancestors(graph: dict[str, Any], node_id: str) -> set[str]:
    """Every node with a path to `node_id` (not the node itself)."""
    sources: dict[str, list[str]] = {}
    for edge in graph.get("edges", []):
        sources.setdefault(edge["target"], []).append(edge["source"])
    found: set[str] = set()
    todo = [node_id]
    while todo:
        for source in sources.get(todo.pop(), ()):
            if source not in found:
                found.add(source)
                todo.append(source)
    found.discard(node_id)
    return found


def _only(graph: dict[str, Any], keep: set[str]) -> dict[str, Any]:
    return {**graph, "nodes": [n for n in graph["nodes"] if n["id"] in keep],
            "edges": [e for e in graph["edges"] if e["source"] in keep and e["target"] in keep],
            "notes": []}


def sample_input(graph: dict[str, Any]) -> dict[str, Any]:
    """The input a test run gets when none is given: the manual trigger's sample."""
    for node in graph.get("nodes", []):
        node_type = registry.get(node.get("type"), node.get("version", 1))
        if node_type is not None and node_type.is_trigger:
            sample = (node.get("config") or {}).get("sample_input")
            if isinstance(sample, dict):
                return sample
    return {}


def _refuse(problems: list[Problem]) -> None:
    first = problems[0]
    raise Unprocessable(
        f"The draft has {len(problems)} problem(s) that would stop the run; fix them "
        f"first. First: {first.message}", code="invalid_graph",
        problems=[p.as_dict() for p in problems],
        errors={first.node_id or first.edge_id or "graph": [first.message]})


def draft_run_start(*, workflow: Workflow, user, input: dict[str, Any] | None = None,
                    node_id: str | None = None, rerun_upstream: bool = False,
                    trigger: str = "manual", trace_id: str | None = None,
                    **start: Any) -> Run:
    """Start a test run of the saved draft (all of it, or `node_id` and the nodes
    before it). `input` None: the manual trigger's sample input. Refuses (400, naming
    each problem) a draft the run would fail on. `start`: passed to run_start (the
    webhook's test URL passes its replay guard)."""
    draft = registry.upgrade_graph(workflow.graph)
    graph = draft
    pins = draft_pins(workflow=workflow)
    if node_id is not None:
        if not any(n.get("id") == node_id for n in draft.get("nodes", [])):
            raise Unprocessable(f"The draft has no node {node_id!r}.", code="node_not_found",
                                errors={"node": [f"No node {node_id!r} in the draft."]})
        before = ancestors(draft, node_id)
        graph = _only(draft, before | {node_id})
        pins = {k: v for k, v in pins.items() if k in before}
        if not rerun_upstream:
            latest = test_data.latest_outputs(workflow=workflow, node_ids=before - set(pins))
            pins.update({k: record.outputs for k, record in latest.items()})
    problems = graph_runnable_problems(graph=graph)
    if problems:
        _refuse(problems)
    if input is None:
        input = sample_input(graph)
    with transaction.atomic():
        snapshot = WorkflowVersion.all_objects.create(
            workflow=workflow, kind=VersionKind.TEST, number=None, graph=graph,
            pins=pins or None, draft_revision=workflow.revision, created_by=user)
        return services.run_start(workflow=workflow, version=snapshot, input=input,
                                  trigger=trigger, user=user, trace_id=trace_id,
                                  mode=RunMode.TEST, **start)
