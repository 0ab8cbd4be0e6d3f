"""`trigger.model_alert`: starts a workflow when a model alert fires (a retraining or
paging workflow), with the alert as its input (apps.oversight.alerts)."""

from __future__ import annotations

from pydantic import Field

from apps.nodes.base import NodeConfig, NodeContext, NodeType, Outputs, Port
from apps.nodes.registry import registry

ALERT_KINDS = ("drift", "error_rate", "latency_p99")


class ModelAlertTriggerConfig(NodeConfig):
    model: str = Field("", max_length=200, title="Model",
                       description="Start on alerts of this model only (its name on the "
                                   "server); empty means any model.")
    kinds: list[str] = Field(default_factory=list, title="Alert kinds",
                             description="drift, error_rate, latency_p99; empty means any.",
                             json_schema_extra={"items": {"enum": list(ALERT_KINDS)}})


@registry.register
class ModelAlertTrigger(NodeType):
    type = "trigger.model_alert"
    category = "trigger"
    label = "Model alert trigger"
    description = "Starts when a model alert fires (drift, error rate, latency), with the alert."
    icon = "activity"
    is_trigger = True
    pure = True
    inputs = ()
    outputs = (Port("out"),)
    Config = ModelAlertTriggerConfig

    def execute(self, context: NodeContext, config: ModelAlertTriggerConfig) -> Outputs:
        return Outputs({"out": context.run.get("input", {})})
