"""What a node type *is*: its name, version, ports, config model and behaviour.

Node type classes hold no storage and no drawing code (DESIGN.md contract 2).
The engine hands `execute` a `NodeContext` and a validated config instance and
gets back a `NodeResult`: outputs per port, or a `Wait` for a timer or approval.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class NodeConfig(BaseModel):
    """Base of every node type's config model; unknown fields are errors."""

    model_config = ConfigDict(extra="forbid")


class EmptyConfig(NodeConfig):
    pass


@dataclass(frozen=True)
class Port:
    name: str
    label: str = ""
    # A required input must receive a value before the node may run;
    # an optional one may be left unconnected.
    required: bool = True
    # Several edges may feed one input port when `multiple` is set (merges, joins).
    multiple: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label or self.name,
            "required": self.required,
            "multiple": self.multiple,
        }


@dataclass
class NodeContext:
    """Everything a node may read while it executes. No secrets live here:
    nodes that need a credential ask `credentials` for it by id."""

    run_id: str
    node_id: str
    attempt: int
    inputs: dict[str, Any]
    run: dict[str, Any] = field(default_factory=dict)
    nodes: dict[str, Any] = field(default_factory=dict)
    vars: dict[str, Any] = field(default_factory=dict)
    trace_id: str = ""
    credentials: Any = None
    services: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outputs:
    """A finished node: a value per output port that fired. Ports absent from
    `ports` are branches not taken; the scheduler skips what hangs off them."""

    ports: dict[str, Any]


@dataclass
class Wait:
    """A node that must wait: for a time (`until`), or for an outside event
    such as an approval decision (`kind` names it, `payload` describes it)."""

    kind: str
    until: datetime | None = None
    payload: dict[str, Any] = field(default_factory=dict)


NodeResult = Outputs | Wait


@dataclass(frozen=True)
class EnvironmentProblem:
    """A node config that is valid on its own but does not fit the world it will
    run in (a model without that input, a server that cannot be reached)."""

    message: str
    code: str = "environment_mismatch"
    field: str | None = None  # e.g. "config.inputs.text"


class NodeType:
    """Subclass, set the class attributes and register with `@registry.register`."""

    type: ClassVar[str]
    version: ClassVar[int] = 1
    category: ClassVar[str] = "general"
    label: ClassVar[str] = ""
    description: ClassVar[str] = ""
    icon: ClassVar[str] = "box"
    is_trigger: ClassVar[bool] = False
    # Pure nodes do no I/O and finish fast: the engine may run them inline,
    # in the same task as their predecessor, instead of a broker round trip.
    pure: ClassVar[bool] = False
    # Queue for nodes that do slow I/O ("io", "inference"); None means the default.
    queue: ClassVar[str | None] = None
    inputs: ClassVar[tuple[Port, ...]] = (Port("in"),)
    outputs: ClassVar[tuple[Port, ...]] = (Port("out"),)
    Config: ClassVar[type[NodeConfig]] = EmptyConfig

    @classmethod
    def key(cls) -> tuple[str, int]:
        return (cls.type, cls.version)

    @classmethod
    def config_schema(cls) -> dict[str, Any]:
        return cls.Config.model_json_schema()

    @classmethod
    def input_names(cls) -> set[str]:
        return {p.name for p in cls.inputs}

    @classmethod
    def output_names(cls) -> set[str]:
        return {p.name for p in cls.outputs}

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """The palette entry served at GET /api/node-types/."""
        return {
            "type": cls.type,
            "version": cls.version,
            "category": cls.category,
            "label": cls.label or cls.type,
            "description": cls.description,
            "icon": cls.icon,
            "is_trigger": cls.is_trigger,
            "inputs": [p.as_dict() for p in cls.inputs],
            "outputs": [p.as_dict() for p in cls.outputs],
            "config_schema": cls.config_schema(),
        }

    def check(self, config: NodeConfig) -> list[str]:
        """Extra checks beyond the schema (e.g. CEL syntax); messages name the field."""
        return []

    @classmethod
    def check_environment(cls, config: NodeConfig) -> list[EnvironmentProblem]:
        """Publish-time checks against the outside world; may do I/O (unlike `check`).
        Called only for configs that passed the pure validation."""
        return []

    def execute(self, context: NodeContext, config: NodeConfig) -> NodeResult:
        raise NotImplementedError
