"""Which nodes may run next: a pure function of the graph and the node states.

No Django, no database, no clock. The engine compiles a published graph once
(`compile_graph`), then asks `plan(graph, states)` after every change; the
answer names the nodes that are ready (with their gathered inputs) and the
nodes to skip. Skips propagate within one call.

Rules for a node that has no state yet:

* an edge is *live* when its source succeeded and fired the edge's port, *dead*
  when the source was skipped, failed, cancelled, or succeeded without firing
  that port (a branch not taken), and *open* while the source is unfinished;
* an input port with one edge takes that edge's status; a `multiple` port
  gathers a list of live values in edge order and, with the node's join mode
  `all` (default), waits until every edge is resolved, with `first` runs as
  soon as one edge is live; a port is dead when all its edges are dead;
* a node waits while any connected port is open, is skipped when a required
  port (or every connected port) is dead, and is otherwise ready;
* the trigger is ready at once; any other node without inputs is skipped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from apps.workflows.graph import kahn_order

PENDING, QUEUED, RUNNING, WAITING = "pending", "queued", "running", "waiting"
SUCCEEDED, FAILED, SKIPPED, CANCELLED = "succeeded", "failed", "skipped", "cancelled"
TERMINAL = frozenset({SUCCEEDED, FAILED, SKIPPED, CANCELLED})

LIVE, DEAD, OPEN = "live", "dead", "open"


@dataclass(frozen=True)
class PortSpec:
    name: str
    required: bool = True
    multiple: bool = False


@dataclass(frozen=True)
class Edge:
    source: str
    source_port: str
    target: str
    target_port: str


@dataclass(frozen=True)
class NodeSpec:
    id: str
    type: str
    inputs: tuple[PortSpec, ...] = ()
    is_trigger: bool = False
    join: str = "all"


@dataclass(frozen=True)
class Graph:
    nodes: Mapping[str, NodeSpec]
    incoming: Mapping[str, tuple[Edge, ...]]
    order: tuple[str, ...]
    trigger: str | None


@dataclass(frozen=True)
class NodeState:
    status: str
    outputs: Mapping[str, Any] | None = None


@dataclass
class Plan:
    ready: dict[str, dict[str, Any]] = field(default_factory=dict)
    skip: list[str] = field(default_factory=list)


def _order(node_ids: list[str], edges: list[Edge]) -> tuple[str, ...]:
    return tuple(kahn_order(node_ids, ((edge.source, edge.target) for edge in edges)))


def compile_graph(document: Mapping[str, Any],
                  describe: Callable[[str, int], tuple[tuple[PortSpec, ...], bool] | None]
                  ) -> Graph:
    """Index a (valid) graph document. `describe(type, version)` returns the
    type's input ports and whether it is a trigger (the registry answers it)."""
    nodes: dict[str, NodeSpec] = {}
    for node in document["nodes"]:
        described = describe(node["type"], node.get("version", 1))
        ports, is_trigger = described if described else ((), False)
        join = (node.get("config") or {}).get("join", "all")
        nodes[node["id"]] = NodeSpec(id=node["id"], type=node["type"], inputs=ports,
                                     is_trigger=is_trigger,
                                     join=join if join in ("all", "first") else "all")
    edges = [Edge(e["source"], e["source_port"], e["target"], e["target_port"])
             for e in document["edges"]]
    incoming: dict[str, list[Edge]] = defaultdict(list)
    for edge in edges:
        incoming[edge.target].append(edge)
    trigger = next((n.id for n in nodes.values() if n.is_trigger), None)
    return Graph(nodes=nodes, incoming={k: tuple(v) for k, v in incoming.items()},
                 order=_order(list(nodes), edges), trigger=trigger)


def _edge(edge: Edge, states: Mapping[str, NodeState]) -> tuple[str, Any]:
    state = states.get(edge.source)
    if state is None or state.status not in TERMINAL:
        return OPEN, None
    if state.status == SUCCEEDED and state.outputs is not None and \
            edge.source_port in state.outputs:
        return LIVE, state.outputs[edge.source_port]
    return DEAD, None


def _port(port: PortSpec, edges: list[Edge], join: str,
          states: Mapping[str, NodeState]) -> tuple[str, Any]:
    resolved = [_edge(edge, states) for edge in edges]
    if not port.multiple:
        return resolved[0]
    live = [value for status, value in resolved if status == LIVE]
    is_open = any(status == OPEN for status, _ in resolved)
    if join == "first" and live:
        return LIVE, live
    if is_open:
        return OPEN, None
    return (LIVE, live) if live else (DEAD, None)


def decide(graph: Graph, node_id: str, states: Mapping[str, NodeState]
           ) -> tuple[str, dict[str, Any]]:
    """'ready' (with inputs), 'skip' or 'wait' for a node that has no state yet."""
    spec = graph.nodes[node_id]
    edges = graph.incoming.get(node_id, ())
    if not edges:
        return ("ready", {}) if node_id == graph.trigger else ("skip", {})
    by_port: dict[str, list[Edge]] = defaultdict(list)
    for edge in edges:
        by_port[edge.target_port].append(edge)
    inputs: dict[str, Any] = {}
    dead_required = False
    any_live = False
    for port in spec.inputs:
        if port.name not in by_port:
            continue
        status, value = _port(port, by_port[port.name], spec.join, states)
        if status == OPEN:
            return "wait", {}
        if status == LIVE:
            inputs[port.name] = value
            any_live = True
        elif port.required:
            dead_required = True
    if dead_required or not any_live:
        return "skip", {}
    return "ready", inputs


def plan(graph: Graph, states: Mapping[str, NodeState]) -> Plan:
    """Nodes without a state that may run now, and nodes to skip (propagated)."""
    current = dict(states)
    result = Plan()
    for node_id in graph.order:
        if node_id in current:
            continue
        verdict, inputs = decide(graph, node_id, current)
        if verdict == "ready":
            result.ready[node_id] = inputs
        elif verdict == "skip":
            result.skip.append(node_id)
            current[node_id] = NodeState(SKIPPED)
    return result


def is_finished(graph: Graph, states: Mapping[str, NodeState]) -> bool:
    return all(node_id in states and states[node_id].status in TERMINAL
               for node_id in graph.nodes)
