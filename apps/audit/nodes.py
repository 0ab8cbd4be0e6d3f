"""The `audit.record` node type: a business event in the tamper-evident audit log
("deletion.completed", "invoice.approved"), recorded as `business.<action>` with the
workflow as the actor and the run as context; its data is redacted as every event's is."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from apps.expressions.core import ExpressionError, render_value
from apps.expressions.fields import TemplateField
from apps.expressions.services import expression_data
from apps.nodes.base import (
    ERROR_OUTPUT,
    ExecutionPolicy,
    NodeConfig,
    NodeContext,
    NodeError,
    NodeType,
    Outputs,
    Port,
    policy_field,
    upgrade_policy_added,
)
from apps.nodes.registry import registry


class AuditRecordConfig(NodeConfig):
    action: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$", max_length=80,
                        title="Event", description="Such as deletion.completed; recorded "
                                                   "as business.<event>.")
    subject: str = TemplateField("", max_length=300, title="About",
                                 description="What the event is about, such as "
                                             "request {{ input.id }}.")
    data: dict[str, Any] = TemplateField(default_factory=dict, title="Details",
                                         description="Values may use {{ expression }}.")
    policy: ExecutionPolicy = policy_field()


@registry.register
class AuditRecordNode(NodeType):
    type = "audit.record"
    category = "data"
    label = "Record in audit log"
    description = "Records a business event in the tamper-evident audit log."
    version = 2
    icon = "shield"
    inputs = (Port("in", required=False),)
    outputs = (Port("out"), ERROR_OUTPUT)
    Config = AuditRecordConfig
    upgrades = {1: upgrade_policy_added}

    def execute(self, context: NodeContext, config: AuditRecordConfig) -> Outputs:
        from apps.audit.actors import Actor, Target
        from apps.audit.services import audit_record

        try:
            data = render_value(config.data, expression_data(context))
            subject = render_value(config.subject, expression_data(context))
        except ExpressionError as exc:
            raise NodeError("expression", exc.message) from None
        workflow = (context.run or {}).get("workflow", {}).get("id", "")
        event = audit_record(
            action=f"business.{config.action}",
            actor=Actor.system(f"workflow:{workflow}"),
            target=Target("business", str(subject or config.action)[:128],
                          str(subject or config.action)[:200]),
            data={**(data if isinstance(data, dict) else {"value": data}),
                  "node_id": context.node_id},
            run_id=context.run_id)
        return Outputs({"out": {"recorded": True, "seq": event.seq,
                                "action": event.action}})
