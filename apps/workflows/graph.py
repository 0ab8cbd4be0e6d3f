"""The graph document and its one validator (DESIGN.md contract 1).

Plain Python with no Django in it: the API, import, publish and the engine all
call `validate_graph`. Every problem names the node or edge it is about.

A graph document::

    {
      "nodes": [{"id": "start", "type": "trigger.manual", "version": 1,
                 "name": "Start", "config": {}, "position": {"x": 0, "y": 0}}],
      "edges": [{"id": "e1", "source": "start", "source_port": "out",
                 "target": "next", "target_port": "in"}],
      "notes": [{"id": "n1", "text": "...", "position": {"x": 0, "y": 0}}]
    }
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import ValidationError

from apps.nodes.base import ERROR_PORT
from apps.nodes.registry import NodeTypeRegistry

MAX_NODES = 5000
MAX_EDGES = 20000
MAX_NOTES = 1000
MAX_ID_LENGTH = 64

NODE_KEYS = {"id", "type", "version", "name", "config", "position", "disabled"}
EDGE_KEYS = {"id", "source", "source_port", "target", "target_port"}
NOTE_KEYS = {"id", "text", "position", "size", "color"}
GRAPH_KEYS = {"nodes", "edges", "notes"}

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    severity: str = ERROR
    node_id: str | None = None
    edge_id: str | None = None
    field: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def empty_graph() -> dict[str, Any]:
    return {"nodes": [], "edges": [], "notes": []}


def errors_only(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == ERROR]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_id(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH


class _Validator:
    def __init__(self, graph: Any, registry: NodeTypeRegistry) -> None:
        self.graph = graph
        self.registry = registry
        self.problems: list[Problem] = []
        self.seen: set[Problem] = set()
        self.configs: dict[str, Any] = {}
        self.nodes: dict[str, dict[str, Any]] = {}
        self.types: dict[str, Any] = {}
        self.edges: list[dict[str, Any]] = []

    def add(self, code: str, message: str, **where: Any) -> None:
        problem = Problem(code=code, message=message, **where)
        if problem not in self.seen:  # each problem once, however it was reached
            self.seen.add(problem)
            self.problems.append(problem)

    def who(self, node_id: str) -> str:
        """A node as a person knows it: its name (the id is in the problem's node_id)."""
        name = self.nodes.get(node_id, {}).get("name")
        return repr(name.strip()) if isinstance(name, str) and name.strip() else repr(node_id)

    def connection(self, edge: dict[str, Any]) -> str:
        source, target = edge.get("source"), edge.get("target")
        if source in self.nodes and target in self.nodes:
            return f"The connection from {self.who(source)} to {self.who(target)}"
        return f"Edge {edge.get('id')!r}"

    def run(self) -> list[Problem]:
        if not isinstance(self.graph, dict):
            self.add("invalid_document", "The graph must be a JSON object.", field="graph")
            return self.problems
        for key in sorted(set(self.graph) - GRAPH_KEYS):
            self.add("unknown_field", f"Unknown field {key!r} in the graph.", field=key)
        nodes = self.graph.get("nodes", [])
        edges = self.graph.get("edges", [])
        notes = self.graph.get("notes", [])
        for name, value, limit in (("nodes", nodes, MAX_NODES), ("edges", edges, MAX_EDGES),
                                   ("notes", notes, MAX_NOTES)):
            if not isinstance(value, list):
                self.add("invalid_document", f"'{name}' must be a list.", field=name)
                return self.problems
            if len(value) > limit:
                self.add("too_large", f"A graph may hold at most {limit} {name}; "
                         f"this one has {len(value)}.", field=name)
                return self.problems
        for index, node in enumerate(nodes):
            self.check_node(index, node)
        edge_ids: set[str] = set()
        for index, edge in enumerate(edges):
            self.check_edge(index, edge, edge_ids)
        self.check_notes(notes)
        self.check_inputs()
        self.check_triggers_and_reachability()
        self.check_cycles()
        self.check_references()
        return self.problems

    def check_node(self, index: int, node: Any) -> None:
        where = f"nodes[{index}]"
        if not isinstance(node, dict):
            self.add("invalid_node", f"{where} must be an object.", field=where)
            return
        node_id = node.get("id")
        if not _check_id(node_id):
            self.add("invalid_node", f"{where} needs an 'id': a string of 1 to "
                     f"{MAX_ID_LENGTH} characters.", field=f"{where}.id")
            return
        if node_id in self.nodes:
            self.add("duplicate_node_id", f"Node id {node_id!r} is used more than once.",
                     node_id=node_id)
            return
        self.nodes[node_id] = node
        for key in sorted(set(node) - NODE_KEYS):
            self.add("unknown_field", f"Unknown field {key!r} on node {self.who(node_id)}.",
                     node_id=node_id, field=key)
        position = node.get("position", {"x": 0, "y": 0})
        if not (isinstance(position, dict) and _is_number(position.get("x"))
                and _is_number(position.get("y"))):
            self.add("invalid_node", f"Node {self.who(node_id)} needs a position with numeric x and y.",
                     node_id=node_id, field="position")
        if "name" in node and not isinstance(node["name"], str):
            self.add("invalid_node", f"Node {self.who(node_id)}: 'name' must be a string.",
                     node_id=node_id, field="name")
        node = self.registry.upgrade_node(node)
        type_name, version = node.get("type"), node.get("version", 1)
        if not isinstance(type_name, str) or not isinstance(version, int) or isinstance(
                version, bool):
            self.add("invalid_node", f"Node {self.who(node_id)} needs a 'type' (string) and a "
                     "'version' (integer).", node_id=node_id, field="type")
            return
        node_type = self.registry.get(type_name, version)
        if node_type is None:
            known = self.registry.versions(type_name)
            detail = (f"its version {version} config could not be upgraded to version "
                      f"{known[-1]}" if version in known else
                      f"version {version} does not exist (known: {known})" if known
                      else "no such node type")
            self.add("unknown_node_type", f"Node {self.who(node_id)} has type {type_name!r}: {detail}.",
                     node_id=node_id, field="type")
            return
        self.types[node_id] = node_type
        config = node.get("config", {})
        if not isinstance(config, dict):
            self.add("invalid_config", f"Node {self.who(node_id)}: 'config' must be an object.",
                     node_id=node_id, field="config")
            return
        try:
            parsed = node_type.Config.model_validate(config)
        except ValidationError as exc:
            for err in exc.errors():
                path = ".".join(str(p) for p in err["loc"]) or "config"
                self.add("invalid_config", f"Node {self.who(node_id)}, field {path!r}: {err['msg']}.",
                         node_id=node_id, field=f"config.{path}")
            return
        self.configs[node_id] = parsed
        for message in node_type().check(parsed):
            self.add("invalid_config", f"Node {self.who(node_id)}: {message}", node_id=node_id,
                     field="config")

    def check_edge(self, index: int, edge: Any, seen: set[str]) -> None:
        where = f"edges[{index}]"
        if not isinstance(edge, dict):
            self.add("invalid_edge", f"{where} must be an object.", field=where)
            return
        edge_id = edge.get("id")
        if not _check_id(edge_id):
            self.add("invalid_edge", f"{where} needs an 'id': a string of 1 to "
                     f"{MAX_ID_LENGTH} characters.", field=f"{where}.id")
            return
        if edge_id in seen:
            self.add("duplicate_edge_id", f"Edge id {edge_id!r} is used more than once.",
                     edge_id=edge_id)
            return
        seen.add(edge_id)
        for key in sorted(set(edge) - EDGE_KEYS):
            self.add("unknown_field", f"Unknown field {key!r} on edge {edge_id!r}.",
                     edge_id=edge_id, field=key)
        ok = True
        for end, port_key, port_set in (("source", "source_port", "output_names"),
                                        ("target", "target_port", "input_names")):
            node_id, port = edge.get(end), edge.get(port_key)
            if not isinstance(node_id, str) or node_id not in self.nodes:
                self.add("dangling_edge", f"Edge {edge_id!r} {end} {node_id!r} is not a node "
                         "of this graph.", edge_id=edge_id, field=end)
                ok = False
                continue
            node_type = self.types.get(node_id)
            if node_type is None:
                ok = False  # the node's own problem is already reported
                continue
            config = self.configs.get(node_id)
            ports = getattr(node_type, port_set)(config)
            if port in ports:
                continue
            kind = "output" if end == "source" else "input"
            if config is not None and port in getattr(node_type, port_set)():
                # A port the type has for other configs (a Switch case since removed, an
                # `error` port while the failure policy does not continue there): graphs
                # saved before ports followed the config keep validating; it never fires.
                self.add("port_not_in_config", f"{self.connection(edge)} leaves by "
                         f"{kind} port {port!r}, which {self.who(node_id)} does not have "
                         f"with its settings ({self.port_hint(node_type, port)}); it will "
                         "never carry data.", severity=WARNING, edge_id=edge_id,
                         node_id=node_id, field=port_key)
                continue
            self.add("unknown_port", f"{self.connection(edge)}: {self.who(node_id)} "
                     f"({node_type.label or node_type.type}) has no {kind} port {port!r}; "
                     f"it has {sorted(ports) or 'none'}.", edge_id=edge_id, field=port_key)
            ok = False
        if ok:
            if edge["source"] == edge["target"]:
                self.add("cycle", f"A connection goes from {self.who(edge['source'])} back "
                         "to itself.", edge_id=edge_id, node_id=edge["source"])
                return
            self.edges.append(edge)

    @staticmethod
    def port_hint(node_type: Any, port: str) -> str:
        if port == ERROR_PORT:
            return "set 'When this step fails' to continue on the error port, or remove it"
        return "add the setting that gives it, or remove the connection"

    def check_notes(self, notes: list[Any]) -> None:
        for index, note in enumerate(notes):
            if not isinstance(note, dict) or not _check_id(note.get("id")) or not isinstance(
                    note.get("text", ""), str):
                self.add("invalid_note", f"notes[{index}] needs an 'id' and a text string.",
                         field=f"notes[{index}]")
            elif set(note) - NOTE_KEYS:
                self.add("unknown_field", f"Unknown field(s) {sorted(set(note) - NOTE_KEYS)} "
                         f"on note {note['id']!r}.", field=f"notes[{index}]")

    def check_inputs(self) -> None:
        into: dict[tuple[str, str], list[str]] = defaultdict(list)
        pairs: set[tuple[str, str, str, str]] = set()
        for edge in self.edges:
            pair = (edge["source"], edge["source_port"], edge["target"], edge["target_port"])
            if pair in pairs:
                self.add("duplicate_edge", f"{self.connection(edge)} repeats another one "
                         "between the same ports.", edge_id=edge["id"])
                continue
            pairs.add(pair)
            into[(edge["target"], edge["target_port"])].append(edge["id"])
        for node_id, node_type in self.types.items():
            if self.nodes[node_id].get("disabled"):
                continue
            for port in node_type.input_ports(self.configs.get(node_id)):
                feeding = into.get((node_id, port.name), [])
                if len(feeding) > 1 and not port.multiple:
                    self.add("too_many_inputs", f"Input port {port.name!r} of node {self.who(node_id)} "
                             f"takes one connection; it has {len(feeding)}.",
                             node_id=node_id, edge_id=feeding[1], field=port.name)
                if not feeding and port.required and not node_type.is_trigger:
                    self.add("missing_input", f"Input port {port.name!r} of node {self.who(node_id)} "
                             "is not connected.", node_id=node_id, field=port.name)

    def check_triggers_and_reachability(self) -> None:
        triggers = [nid for nid, t in self.types.items() if t.is_trigger]
        if not triggers and self.nodes:
            self.add("no_trigger", "The workflow needs a trigger node to start it.")
        elif not self.nodes:
            self.add("no_trigger", "The workflow is empty: add a trigger node to start it.")
        for extra in triggers[1:]:
            self.add("multiple_triggers", f"Node {self.who(extra)} is a second trigger; a workflow "
                     f"has exactly one (the first is {self.who(triggers[0])}).", node_id=extra)
        if not triggers:
            return
        children: dict[str, list[str]] = defaultdict(list)
        for edge in self.edges:
            children[edge["source"]].append(edge["target"])
        seen = {triggers[0]}
        queue = deque(seen)
        while queue:
            for child in children[queue.popleft()]:
                if child not in seen:
                    seen.add(child)
                    queue.append(child)
        for node_id in self.nodes:
            if node_id not in seen and node_id not in triggers[1:]:
                self.add("unreachable", f"Node {self.who(node_id)} cannot be reached from the trigger "
                         f"{self.who(triggers[0])}.", severity=WARNING, node_id=node_id)

    def check_cycles(self) -> None:
        ordered = set(kahn_order(self.nodes, ((e["source"], e["target"]) for e in self.edges)))
        for node_id in sorted(set(self.nodes) - ordered):
            self.add("cycle", f"Node {self.who(node_id)} is part of a cycle; workflows must be "
                     "acyclic (use a map or sub-workflow to repeat work).", node_id=node_id)


    def check_references(self) -> None:
        """A node that names another (an approval reviewing a model's answer) names one
        that exists, runs before it, and is of a type it accepts."""
        parents: dict[str, list[str]] = defaultdict(list)
        for edge in self.edges:
            parents[edge["target"]].append(edge["source"])
        for node_id, node_type in self.types.items():
            config = self.configs.get(node_id)
            if config is None:
                continue
            for field, named, types in node_type.node_references(config):
                where = {"node_id": node_id, "field": f"config.{field}"}
                if named not in self.nodes:
                    self.add("unknown_reference", f"Node {self.who(node_id)} names node "
                             f"{named!r} in {field!r}; there is no such node.", **where)
                    continue
                if self.nodes[named].get("type") not in types:
                    self.add("wrong_reference", f"Node {self.who(node_id)} names node "
                             f"{self.who(named)} in {field!r}; it must be a "
                             f"{' or '.join(types)} node.", **where)
                    continue
                seen, queue = {node_id}, deque(parents[node_id])
                while queue and named not in seen:
                    current = queue.popleft()
                    if current not in seen:
                        seen.add(current)
                        queue.extend(parents[current])
                if named not in seen:
                    self.add("reference_not_upstream", f"Node {self.who(node_id)} names node "
                             f"{self.who(named)} in {field!r}, which does not run before "
                             "it: connect it upstream.", **where)


def validate_graph(graph: Any, registry: NodeTypeRegistry) -> list[Problem]:
    """Every problem in `graph`, errors and warnings, each naming its node or edge."""
    return _Validator(graph, registry).run()


def kahn_order(node_ids: Iterable[str], pairs: Iterable[tuple[str, str]]) -> list[str]:
    """Node ids so that every (source, target) pair points forward. Nodes on a cycle,
    or downstream of one, are left out."""
    indegree = dict.fromkeys(node_ids, 0)
    children: dict[str, list[str]] = defaultdict(list)
    for source, target in pairs:
        children[source].append(target)
        indegree[target] += 1
    queue = deque(n for n, d in indegree.items() if d == 0)
    order = []
    while queue:
        node_id = queue.popleft()
        order.append(node_id)
        for child in children[node_id]:
            indegree[child] -= 1
            if indegree[child] == 0:
                queue.append(child)
    return order


def topological_order(graph: dict[str, Any]) -> list[str]:
    """Node ids in an order where every edge points forward (graph must be valid)."""
    return kahn_order((n["id"] for n in graph["nodes"]),
                      ((e["source"], e["target"]) for e in graph["edges"]))
