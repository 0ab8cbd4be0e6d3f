"""The one registry of node types (DESIGN.md contract 2).

Filled by the `register` decorator when the node modules are imported by
`NodesConfig.ready()`, then frozen: nothing may register afterwards. Plain
Python, no Django, so the graph validator can use it anywhere.
"""

from __future__ import annotations

from collections.abc import Iterator

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

    def latest(self, type_name: str) -> type[NodeType] | None:
        versions = [cls for (name, _), cls in self._types.items() if name == type_name]
        return max(versions, key=lambda c: c.version) if versions else None

    def versions(self, type_name: str) -> list[int]:
        return sorted(v for (name, v) in self._types if name == type_name)

    def __iter__(self) -> Iterator[type[NodeType]]:
        return iter(sorted(self._types.values(), key=lambda c: (c.category, c.type, c.version)))

    def __len__(self) -> int:
        return len(self._types)

    def __contains__(self, key: tuple[str, int]) -> bool:
        return key in self._types


registry = NodeTypeRegistry()
