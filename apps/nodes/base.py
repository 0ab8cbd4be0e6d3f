"""What a node type *is*: its name, version, ports, config model and behaviour.

Node type classes hold no storage and no drawing code (DESIGN.md contract 2).
The engine hands `execute` a `NodeContext` and a validated config instance and
gets back a `NodeResult`: outputs per port, or a `Wait` for a timer or approval.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from apps.nodes.ports import evaluate_port_rule, static_rule


def _words(class_name: str) -> str:
    """'SwitchCaseConfig' -> 'Switch case': a fallback title, never a class name."""
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+", class_name)
    if words and words[-1] == "Config":
        words = words[:-1]
    text = " ".join(w if w.isupper() else w.lower() for w in words)
    return text[:1].upper() + text[1:] if text else "Settings"


def builder_facing_schema(schema: dict[str, Any], cls: type[BaseModel]) -> None:
    """Forms show what the schema says, so it speaks to builders: a model's docstring
    (written for developers) never becomes its description (`form_help` does), and a
    model without a title of its own gets words, not its class name."""
    schema.pop("description", None)
    help_text = cls.__dict__.get("form_help")
    if help_text:
        schema["description"] = help_text
    if schema.get("title") == cls.__name__:
        schema["title"] = _words(cls.__name__)
    if cls.__dict__.get("form_collapsed"):
        schema["x-weft-collapsed"] = True  # the form folds the group away until wanted


class NodeConfig(BaseModel):
    """Base of every node type's config model; unknown fields are errors. Give nested
    models a `title` in `model_config` and, if they need one, a `form_help: ClassVar[str]`;
    every field a `title` and a `description` written for the person building the flow
    (tests/nodes/test_form_words.py checks)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=builder_facing_schema)


class EmptyConfig(NodeConfig):
    pass


class ExecutionPolicy(BaseModel):
    """When the step fails: retry, then fail the run, continue on the `error` port or
    continue with a default output (DESIGN.md contract 12). The engine reads this; a
    node type never retries or sleeps by itself. A node type opts in by giving its
    config a field `policy: ExecutionPolicy = policy_field()` (network nodes:
    `policy_field(retries=2)`) and an output port named `error` (`ERROR_PORT`).

    Retries apply to failures the node marks retryable (a 503, a refused connection,
    a timeout); the delay doubles from `backoff_s` with jitter, up to `backoff_max_s`,
    and is never shorter than a `Retry-After` the remote side sent. The `error` port and
    the default output take every failure left after retries, except a cancel and a
    quarantine (a node that keeps killing its worker)."""

    model_config = ConfigDict(extra="forbid", title="Failure policy",
                              json_schema_extra=builder_facing_schema)
    form_help: ClassVar[str] = (
        "Try again when the failure may pass, then stop the run, continue through the "
        "'On error' port, or continue with a default output.")
    form_collapsed: ClassVar[bool] = True

    retries: int = Field(0, ge=0, le=10, title="Retries",
                         description="Extra attempts after a failure that may pass "
                                     "(the service was unavailable or slow).")
    backoff_s: float = Field(1.0, ge=0, le=3600, title="First retry delay (s)",
                             description="Doubles with every attempt, with jitter.")
    backoff_max_s: float = Field(300.0, ge=0, le=86400, title="Longest retry delay (s)",
                                 description="The wait between tries never grows past this.")
    timeout_s: float | None = Field(None, gt=0, le=86400,
                                    title="Time limit per attempt (s)",
                                    description="Empty means no limit.")
    on_error: Literal["fail", "error_port", "default_output"] = Field(
        "fail", title="On error",
        description="Stop the run, continue through the 'On error' port (it appears on "
                    "the node), or continue with the default output below.",
        json_schema_extra={"x-weft-enum-labels": ["Stop the run", "Continue on the 'On error' port",
                                         "Continue with the default output"]})
    default_output: Any = Field(None, title="Default output",
                                description="What the step outputs instead, when "
                                            "'On error' says so.")


ERROR_PORT = "error"
ERROR_PORT_LABEL = "On error"


def policy_field(*, retries: int = 0, help: str = "") -> Any:
    """The config field of a node type that follows the engine's failure policy; `help`
    adds what its failure means for this type (what a webhook's caller gets, say)."""
    # The schema says the type's own default (a form shows what the engine will do: an
    # HTTP request retries twice), not only the policy model's field defaults.
    return Field(default_factory=lambda: ExecutionPolicy(retries=retries),
                 title="When this step fails",
                 description=" ".join(filter(None, (ExecutionPolicy.form_help, help))),
                 json_schema_extra={"default": ExecutionPolicy(retries=retries).model_dump(
                     mode="json")})


def upgrade_policy_added(config: dict[str, Any]) -> dict[str, Any]:
    """The upgrader of a node type that gained the failure policy: a stored config keeps
    its settings and gets the default policy (stop the run), as it behaved before."""
    return dict(config)


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


# The output port of a type that follows the failure policy, drawn alike on every type
# (only while its policy continues there: NodeType.port_rules).
ERROR_OUTPUT = Port(ERROR_PORT, label=ERROR_PORT_LABEL, required=False)


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
    # Long-running nodes call this now and then and stop when it answers True
    # (the run was cancelled or its workflow paused).
    should_stop: Callable[[], bool] = lambda: False
    # The node type's input port names, so expressions see the same `input` shape
    # whichever ports happen to be connected (see expression_data).
    input_ports: tuple[str, ...] | None = None


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
class RateLimit:
    """A rate limit a network call counts against besides its host's: at most `per_s`
    requests per second under `key` (a credential's: "credential:<id>") across the
    calls of the worker process that sends it."""

    key: str
    per_s: float


class NetworkCall:
    """The waiting part of a node that waits on the network (DESIGN.md contract 10).
    Its node type's `prepare` does everything that needs the run's data or the
    database (templates, credentials) and returns one of these; `perform` only awaits
    the network, with the shared clients of its event loop (apps.nodes.io.IOClients),
    so one process holds hundreds in flight (apps.runs.io_executor). `host` is the
    key of the per-host cap and rate limit it counts against ("" for none);
    `rate_limits` are the other rate limits it counts against (its credential's)."""

    host: str = ""
    rate_limits: tuple[RateLimit, ...] = ()

    async def perform(self, io: Any) -> Outputs:
        raise NotImplementedError


class NodeError(Exception):
    """A node's own failure, raised from `execute`. `type` is a short machine name
    ("http_status", "expression", "stopped"); `retryable` tells the engine whether
    the node's retry policy applies (a 503 is worth retrying, a bad expression is not).
    `details` is JSON-friendly extra context stored with the error (never secrets);
    `retry_after_s` is the least time before another try, when the remote side said so
    (an HTTP `Retry-After`): the engine's retry waits at least that long."""

    def __init__(self, type: str, message: str, *, retryable: bool = False,
                 details: dict[str, Any] | None = None,
                 retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.type = type
        self.message = message
        self.retryable = retryable
        self.details = details or {}
        # The remote side asked for this much time before another try (Retry-After).
        self.retry_after_s = retry_after_s

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "message": self.message,
                                "retryable": self.retryable}
        if self.details:
            body["details"] = self.details
        return body
@dataclass(frozen=True)
class EnvironmentProblem:
    """A node config that is valid on its own but does not fit the world it will
    run in (a model without that input, a server that cannot be reached)."""

    message: str
    code: str = "environment_mismatch"
    field: str | None = None  # e.g. "config.inputs.text"


def _has_policy(config_model: type[BaseModel]) -> bool:
    field = config_model.model_fields.get("policy")
    return field is not None and field.annotation is ExecutionPolicy


def _ports(rule: list[dict[str, Any]], config: NodeConfig | dict[str, Any]) -> tuple[Port, ...]:
    data = config.model_dump(mode="json") if isinstance(config, BaseModel) else config
    return tuple(Port(p["name"], p["label"], p["required"], p["multiple"])
                 for p in evaluate_port_rule(rule, data))


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
    # When a type's config changes shape, its version goes up and `upgrades[n]` turns a
    # config of version n into one of version n + 1 (pure: a dict in, a dict out). Only
    # the latest version is a class; graphs of older versions are upgraded when they
    # are read (validated, compiled, shown), so every published version keeps running.
    upgrades: ClassVar[dict[int, Callable[[dict[str, Any]], dict[str, Any]]]] = {}
    # Ports that follow the config, as a rule (apps/nodes/ports.py); None: the static ones.
    input_rule: ClassVar[list[dict[str, Any]] | None] = None
    output_rule: ClassVar[list[dict[str, Any]] | None] = None
    # The port the failure policy's default output leaves by; None: the first output port
    # the config gives. A branching type names its safe branch (an If's 'false'), so a
    # failure never continues down a branch its condition did not choose.
    default_output_port: ClassVar[str | None] = None

    def default_output_value(self, config: Any, value: Any) -> Any:
        """What the failure policy's default output gives on `default_output_port`: the
        builder's value as it is, or, for a type whose output has a shape of its own,
        that value in its place (a Respond to webhook's answer body)."""
        return value

    @classmethod
    def key(cls) -> tuple[str, int]:
        return (cls.type, cls.version)

    @classmethod
    def config_schema(cls) -> dict[str, Any]:
        return cls.Config.model_json_schema()

    @classmethod
    def port_rules(cls) -> dict[str, list[dict[str, Any]]]:
        """How the ports follow the config (apps/nodes/ports.py), served to the editor.
        By default the static `inputs`/`outputs`, except that the `error` port of a type
        with a failure policy exists only while the policy continues there. `inputs` and
        `outputs` stay the widest set any config can give (the engine's sanity check)."""
        if cls.__dict__.get("_port_rules") is None:
            outputs = static_rule(cls.outputs)
            if _has_policy(cls.Config):
                for entry in outputs:
                    if entry["name"] == ERROR_PORT:
                        entry.update(label=ERROR_PORT_LABEL, required=False, when={
                            "field": "policy.on_error", "equals": "error_port",
                            "default": "fail"})
            outputs = cls.output_rule if cls.output_rule is not None else outputs
            inputs = cls.input_rule if cls.input_rule is not None else static_rule(cls.inputs)
            cls._port_rules = {"inputs": inputs, "outputs": outputs}
        return cls._port_rules

    @classmethod
    def input_ports(cls, config: NodeConfig | dict[str, Any] | None = None) -> tuple[Port, ...]:
        """The input ports this config gives; without a config, every possible one."""
        if config is None:
            return cls.inputs
        return _ports(cls.port_rules()["inputs"], config)

    @classmethod
    def output_ports(cls, config: NodeConfig | dict[str, Any] | None = None) -> tuple[Port, ...]:
        """The output ports this config gives; without a config, every possible one."""
        if config is None:
            return cls.outputs
        return _ports(cls.port_rules()["outputs"], config)

    @classmethod
    def input_names(cls, config: NodeConfig | dict[str, Any] | None = None) -> set[str]:
        return {p.name for p in cls.input_ports(config)}

    @classmethod
    def output_names(cls, config: NodeConfig | dict[str, Any] | None = None) -> set[str]:
        return {p.name for p in cls.output_ports(config)}

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
            "ports": cls.port_rules(),
            "config_schema": cls.config_schema(),
        }

    def check(self, config: NodeConfig) -> list[str]:
        """Extra checks beyond the schema; messages name the field. By default every
        CEL and template field (see apps.expressions.fields) is checked; override
        and extend `super().check(config)` for more."""
        from apps.expressions.fields import expression_problems

        return expression_problems(config)

    @classmethod
    def node_references(cls, config: NodeConfig) -> list[tuple[str, str, tuple[str, ...]]]:
        """Other nodes this config names: (field, node id, node types it may be). The
        graph validator checks that each exists upstream and is of one of those types."""
        return []

    @classmethod
    def check_environment(cls, config: NodeConfig) -> list[EnvironmentProblem]:
        """Publish-time checks against the outside world; may do I/O (unlike `check`).
        Called only for configs that passed the pure validation."""
        return []

    # A node type that waits on the network sets `waits_on_network` and implements
    # `prepare` (returning a NetworkCall): the I/O executor awaits the call on its event
    # loop; its `execute` runs the same call at once (apps.nodes.io.perform_now).
    waits_on_network: ClassVar[bool] = False

    def prepare(self, context: NodeContext, config: NodeConfig) -> NetworkCall:
        raise NotImplementedError

    def execute(self, context: NodeContext, config: NodeConfig) -> NodeResult:
        raise NotImplementedError
