"""Compiled plans: a published version's graph, node types, configs and instances,
read from the database once per process (versions are immutable)."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from typing import Any

from apps.core.errors import Unprocessable
from apps.nodes.base import ERROR_PORT, NodeType
from apps.nodes.registry import registry
from apps.runs import scheduler
from apps.runs.pinned import pinned_type
from apps.workflows.models import WorkflowVersion


@dataclass
class Compiled:
    version_id: int
    workflow_id: uuid.UUID
    graph: scheduler.Graph
    nodes: dict[str, dict[str, Any]]
    types: dict[str, type[NodeType]]
    configs: dict[str, Any]
    instances: dict[str, NodeType]
    first_output: dict[str, str | None]
    # The port a failure's default output leaves by (NodeType.default_output_port).
    default_output: dict[str, str | None]
    input_ports: dict[str, tuple[str, ...]]
    all_pure: bool
    version_number: int | None = None
    # Nodes whose `error` port has an edge: only those may continue there.
    error_wired: frozenset[str] = frozenset()


_compiled_cache: dict[int, Compiled] = {}
_cache_lock = threading.Lock()


def _describe(type_name: str, version: int):
    node_type = registry.get(type_name, version)
    if node_type is None:
        return None
    ports = tuple(scheduler.PortSpec(p.name, p.required, p.multiple) for p in node_type.inputs)
    return ports, node_type.is_trigger


def compile_version(version: WorkflowVersion) -> Compiled:
    cached = _compiled_cache.get(version.pk)
    if cached is not None and cached.workflow_id == version.workflow_id:
        return cached
    document = registry.upgrade_graph(version.graph)  # older node type versions
    nodes = {n["id"]: n for n in document["nodes"]}
    pins = version.pins or {}  # a test snapshot's pinned outputs (apps.runs.pinned)
    types, configs, instances, first_output, default_output = {}, {}, {}, {}, {}
    for node_id, node in nodes.items():
        node_type = registry.get(node["type"], node.get("version", 1))
        if node_type is None:
            raise Unprocessable(f"Node {node_id!r} has type {node['type']!r}, which this "
                                "server does not know.", code="unknown_node_type")
        if node_id in pins:
            node_type = pinned_type(node_type, pins[node_id])
        types[node_id] = node_type
        configs[node_id] = node_type.Config.model_validate(node.get("config") or {})
        instances[node_id] = node_type()
        ports = node_type.output_ports(configs[node_id])
        first_output[node_id] = ports[0].name if ports else None
        default_output[node_id] = node_type.default_output_port or first_output[node_id]
    compiled = Compiled(
        input_ports={node_id: tuple(p.name for p in types[node_id].inputs) for node_id in nodes},
        version_number=getattr(version, "number", None),
        version_id=version.pk, workflow_id=version.workflow_id,
        graph=scheduler.compile_graph(document, _describe), nodes=nodes, types=types,
        configs=configs, instances=instances, first_output=first_output,
        default_output=default_output,
        all_pure=all(t.pure for t in types.values()))
    compiled.error_wired = frozenset(
        edge.source for edges in compiled.graph.incoming.values() for edge in edges
        if edge.source_port == ERROR_PORT)
    with _cache_lock:
        if len(_compiled_cache) > 512:
            _compiled_cache.clear()
        _compiled_cache[version.pk] = compiled
    return compiled


def compiled_by_id(version_id: int, workflow_id: Any = None) -> Compiled:
    """The compiled plan of a version by id: versions are immutable, so the graph is
    read from the database once per process. With the version's `workflow_id` (a run's),
    a plan cached under the same id for another workflow's version is not taken: ids
    start again after the database is emptied (`manage.py flush`, a restore), and a
    process that lived through it must not run another graph."""
    cached = _compiled_cache.get(version_id)
    if cached is not None and (workflow_id is None or cached.workflow_id == workflow_id):
        return cached
    # compile_version replaces a plan kept for another workflow's version.
    return compile_version(WorkflowVersion.all_objects.only(
        "pk", "number", "graph", "pins", "workflow_id").get(pk=version_id))
