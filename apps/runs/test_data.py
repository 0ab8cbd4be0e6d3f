"""The data each node of a draft last produced in a test run: what "Run this node" uses
for the nodes before it, what the inspector's input and output panel shows, and where
expression autocomplete finds field names.

A node's data is *stale* when the draft changed since the test run that produced it,
in the node itself or in a node before it (type, settings, being disabled, or its
incoming connections): the panel says so, and "Run this node" still uses it, as the
builder sees it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import F

from apps.nodes.registry import registry
from apps.runs import refs
from apps.runs.models import NodeRun, NodeStatus, RunMode
from apps.workflows.models import WorkflowVersion

# The most nodes one read looks at: a draft holds at most a few thousand.
_MAX_NODES = 5000


@dataclass
class NodeData:
    node_id: str
    run_id: str
    finished_at: datetime | None
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    stale: bool = False


def _definition(graph: dict[str, Any], node_id: str) -> tuple | None:
    for node in graph.get("nodes", []):
        if node.get("id") == node_id:
            incoming = sorted((e["source"], e["source_port"], e["target_port"])
                              for e in graph.get("edges", []) if e.get("target") == node_id)
            return (node.get("type"), node.get("version"), node.get("config") or {},
                    bool(node.get("disabled")), incoming)
    return None


def _sources(graph: dict[str, Any]) -> dict[str, list[str]]:
    sources: dict[str, list[str]] = {}
    for edge in graph.get("edges", []):
        sources.setdefault(edge["target"], []).append(edge["source"])
    return sources


def _upstream(sources: dict[str, list[str]], node_id: str) -> set[str]:
    found, todo = {node_id}, [node_id]
    while todo:
        for source in sources.get(todo.pop(), ()):
            if source not in found:
                found.add(source)
                todo.append(source)
    return found


def latest_outputs(*, workflow, node_ids: set[str] | None = None,
                   draft: dict[str, Any] | None = None) -> dict[str, NodeData]:
    """node id -> its data in the latest test run where it succeeded (as the builder
    sees it: large values read in full, escaping taken off), with `stale` judged
    against the draft. Rows where the node gave a pin or earlier data instead of
    running are not its data: they would pass stale data off as fresh."""
    qs = NodeRun.objects.filter(run__workflow=workflow, run__mode=RunMode.TEST,
                                run__parent_run__isnull=True, status=NodeStatus.SUCCEEDED
                                ).exclude(run__version__pins__has_key=F("node_id"))
    if node_ids is not None:
        if not node_ids:
            return {}
        qs = qs.filter(node_id__in=node_ids)
    rows = list(qs.order_by("node_id", "-pk").distinct("node_id").only(
        "pk", "node_id", "run_id", "finished_at", "inputs", "outputs")[:_MAX_NODES])
    run_versions = dict(NodeRun.objects.filter(pk__in=[r.pk for r in rows]).values_list(
        "run_id", "run__version_id"))
    snapshots = {v.pk: v for v in WorkflowVersion.all_objects.filter(
        pk__in=set(run_versions.values())).only("pk", "graph")}
    draft = registry.upgrade_graph(workflow.graph if draft is None else draft)
    sources = _sources(draft)
    found: dict[str, NodeData] = {}
    for row in rows:
        snapshot = snapshots.get(run_versions.get(row.run_id))
        graph = registry.upgrade_graph(snapshot.graph) if snapshot else {"nodes": []}
        stale = any(_definition(graph, nid) != _definition(draft, nid)
                    for nid in _upstream(sources, row.node_id))
        found[row.node_id] = NodeData(
            node_id=row.node_id, run_id=str(row.run_id), finished_at=row.finished_at,
            inputs=_as_data(row.inputs), outputs=_as_data(row.outputs), stale=stale)
    return found


def _as_data(ports: Any) -> dict[str, Any]:
    if not isinstance(ports, dict):
        return {}
    ports = refs.materialise_ports(ports) or {}
    return refs.unescape({port: refs.materialise(value) for port, value in ports.items()})
