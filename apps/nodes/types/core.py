"""The smallest node types: a manual trigger and a pass-through."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from apps.nodes.base import NodeConfig, NodeContext, NodeType, Outputs, Port
from apps.nodes.registry import registry


class ManualTriggerConfig(NodeConfig):
    sample_input: dict[str, Any] = Field(
        default_factory=dict,
        title="Sample input",
        description="JSON used as the run's input when a test run is started without one.",
    )


@registry.register
class ManualTrigger(NodeType):
    type = "trigger.manual"
    category = "trigger"
    label = "Manual trigger"
    description = "Starts a run by hand or through the API, with a JSON input."
    icon = "play"
    is_trigger = True
    pure = True
    inputs = ()
    outputs = (Port("out"),)
    Config = ManualTriggerConfig

    def execute(self, context: NodeContext, config: ManualTriggerConfig) -> Outputs:
        return Outputs({"out": context.run.get("input", {})})


class NoOpConfig(NodeConfig):
    pass


@registry.register
class NoOp(NodeType):
    type = "core.noop"
    category = "data"
    label = "No operation"
    description = "Passes its input through unchanged."
    icon = "arrow-right"
    pure = True
    inputs = (Port("in"),)
    outputs = (Port("out"),)
    Config = NoOpConfig

    def execute(self, context: NodeContext, config: NoOpConfig) -> Outputs:
        return Outputs({"out": context.inputs.get("in")})
