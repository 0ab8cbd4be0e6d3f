"""The one registry of node types (DESIGN.md contract 2).

Filled by the `register` decorator when the node modules are imported by
`NodesConfig.ready()`, then frozen: nothing may register afterwards. Plain
Python, no Django, so the graph validator can use it anywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from apps.nodes.base import NodeType


class RegistryFrozen(RuntimeError):
    pass


class NodeTypeRegistry:
    def __init__(self) -> None:
        self._types: dict[tuple[str, int], type[NodeType]] = {}
        self._frozen = False

    def register(self, cls: type[NodeType]) -> type[NodeType]:
        if self._frozen:
            raise RegistryFrozen(f"cannot register {cls.type!r}: the node registry is frozen")
        key = cls.key()
        if key in self._types:
            raise ValueError(f"node type {cls.type!r} version {cls.version} is registered twice")
        self._types[key] = cls
        return cls

    def freeze(self) -> None:
        self._frozen = True

    @property
    def frozen(self) -> bool:
        return self._frozen

    def get(self, type_name: str, version: int | None = None) -> type[NodeType] | None:
        if version is None:
            return self.latest(type_name)
        return self._types.get((type_name, version))

    def upgrade_node(self, node: Any) -> Any:
        """A graph node of an older version of its type, as the latest version (a new
        dict, its config upgraded step by step); any other value unchanged. A config
        that an upgrader cannot read is left for the validator to report."""
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            return node
        version = node.get("version", 1)
        latest = self.latest(node["type"])
        if latest is None or not isinstance(version, int) or isinstance(version, bool) \
                or version >= latest.version or (node["type"], version) in self._types:
            return node
        if any(step not in latest.upgrades for step in range(version, latest.version)):
            return node
        config = node.get("config", {})
        if not isinstance(config, dict):
            return node
        try:
            for step in range(version, latest.version):
                config = latest.upgrades[step](dict(config))
        except (TypeError, ValueError, KeyError, AttributeError):
            return node  # the validator names the node: its old config is unreadable
        return {**node, "version": latest.version, "config": config}

    def upgrade_graph(self, graph: Any) -> Any:
        """A graph document with every node at its type's latest version (the same
        object when nothing needed upgrading)."""
        if not isinstance(graph, dict) or not isinstance(graph.get("nodes"), list):
            return graph
        nodes = [self.upgrade_node(node) for node in graph["nodes"]]
        if all(new is old for new, old in zip(nodes, graph["nodes"], strict=True)):
            return graph
        return {**graph, "nodes": nodes}

    def latest(self, type_name: str) -> type[NodeType] | None:
        versions = [cls for (name, _), cls in self._types.items() if name == type_name]
        return max(versions, key=lambda c: c.version) if versions else None

    def versions(self, type_name: str) -> list[int]:
        """Every version a graph may name: registered ones and those upgraded to them."""
        found = {v for (name, v) in self._types if name == type_name}
        latest = self.latest(type_name)
        if latest is not None:
            first = latest.version
            while first - 1 in latest.upgrades:
                first -= 1
            found |= set(range(first, latest.version))
        return sorted(found)

    def __iter__(self) -> Iterator[type[NodeType]]:
        return iter(sorted(self._types.values(), key=lambda c: (c.category, c.type, c.version)))

    def __len__(self) -> int:
        return len(self._types)

    def __contains__(self, key: tuple[str, int]) -> bool:
        return key in self._types


registry = NodeTypeRegistry()
