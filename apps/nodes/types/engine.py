"""Engine-shaped node types: the webhook, schedule and error triggers, and the
control nodes the engine carries out itself (sub-workflow, respond, map).

Like every node type they hold no storage: a sub-workflow or a map answers with a
`Wait` naming what it waits for, and the engine starts and tracks the child runs.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import Field, field_validator

from apps.expressions.core import ExpressionError
from apps.expressions.fields import CelField
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
    Wait,
    policy_field,
    upgrade_policy_added,
)
from apps.nodes.registry import registry


def _evaluate(context: NodeContext, expression: str, default: Any) -> Any:
    """An optional CEL field: empty gives `default`; else evaluated over the same
    variables every node type sees (apps.expressions.services.expression_data)."""
    if not expression:
        return default
    try:
        return context.services["expressions"](expression, expression_data(context))
    except ExpressionError as exc:
        raise NodeError("expression", exc.message) from None


class WebhookTriggerConfig(NodeConfig):
    mode: Literal["async", "respond"] = Field(
        "async", title="Answer",
        description="async: answer 202 with the run id at once; respond: wait for a "
                    "'Respond to webhook' node and answer with its body.")
    respond_timeout_s: float = Field(10.0, gt=0, le=120, title="Respond timeout (s)",
                                     description="With 'respond': how long the caller waits "
                                                 "for the answer.")
    signature_header: str = Field(
        "", max_length=100, title="Signature header",
        description="When set, requests must carry the HMAC-SHA256 of the body (hex, "
                    "optionally prefixed 'sha256=') signed with the workflow's signing key.")
    failure_status: int = Field(
        500, ge=400, le=599, title="Status when the run fails",
        description="With 'respond': the HTTP status the caller gets when the run fails "
                    "before answering.")
    failure_body: dict[str, Any] = Field(
        default_factory=dict, title="Body when the run fails",
        description="With 'respond': the JSON the caller gets when the run fails, with "
                    "the run's id added as run_id. Empty: {\"error\": \"run_failed\"}. "
                    "What went wrong stays in the run, for you; the caller never sees it.")
    sample_input: dict[str, Any] = Field(
        default_factory=dict, title="Sample input",
        description="JSON a test run of the draft starts from (a request as callers send it).")


@registry.register
class WebhookTrigger(NodeType):
    type = "trigger.webhook"
    category = "trigger"
    label = "Webhook"
    description = "Starts a run when JSON is POSTed to the workflow's secret URL."
    icon = "webhook"
    is_trigger = True
    pure = True
    inputs = ()
    outputs = (Port("out"),)
    Config = WebhookTriggerConfig

    def execute(self, context: NodeContext, config: WebhookTriggerConfig) -> Outputs:
        return Outputs({"out": context.run.get("input", {})})


class ScheduleTriggerConfig(NodeConfig):
    cron: str = Field("0 * * * *", title="Cron expression",
                      description="Five fields: minute hour day-of-month month day-of-week.")
    timezone: str = Field("UTC", title="Time zone",
                          description="The cron's times are read in this zone, e.g. "
                                      "Europe/Paris.")
    input: dict[str, Any] = Field(default_factory=dict, title="Input",
                                  description="JSON given to each scheduled run as its input.")

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        if not croniter.is_valid(value) or len(value.split()) != 5:
            raise ValueError(f"{value!r} is not a five-field cron expression")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    def next_after(self, moment: datetime) -> datetime:
        local = moment.astimezone(ZoneInfo(self.timezone))
        return croniter(self.cron, local).get_next(datetime)


@registry.register
class ScheduleTrigger(NodeType):
    type = "trigger.schedule"
    category = "trigger"
    label = "Schedule"
    description = "Starts a run on a cron schedule, in a time zone."
    icon = "clock"
    is_trigger = True
    pure = True
    inputs = ()
    outputs = (Port("out"),)
    Config = ScheduleTriggerConfig

    def execute(self, context: NodeContext, config: ScheduleTriggerConfig) -> Outputs:
        return Outputs({"out": context.run.get("input", {})})


class ErrorTriggerConfig(NodeConfig):
    workflows: list[uuid.UUID] = Field(
        default_factory=list, title="Workflows",
        description="Start when a run of one of these fails; empty means any workflow.")


@registry.register
class ErrorTrigger(NodeType):
    type = "trigger.error"
    category = "trigger"
    label = "Error trigger"
    description = "Starts when a run of another workflow fails, with its error summary."
    icon = "alert-triangle"
    is_trigger = True
    pure = True
    inputs = ()
    outputs = (Port("out"),)
    Config = ErrorTriggerConfig

    def execute(self, context: NodeContext, config: ErrorTriggerConfig) -> Outputs:
        return Outputs({"out": context.run.get("input", {})})


class SubWorkflowConfig(NodeConfig):
    workflow_id: uuid.UUID = Field(title="Workflow",
                                   description="A published workflow to call.")
    input: str = CelField("", max_length=4000, title="Input expression",
                          description="CEL giving the child run's input; empty passes "
                                      "this node's input.")
    policy: ExecutionPolicy = policy_field()


def _as_input(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {"value": value}


@registry.register
class SubWorkflow(NodeType):
    type = "flow.subworkflow"
    category = "control"
    label = "Sub-workflow"
    description = "Runs a published workflow and waits for its result."
    icon = "layers"
    inputs = (Port("in"),)
    outputs = (Port("out"), Port("error", required=False))
    Config = SubWorkflowConfig

    def execute(self, context: NodeContext, config: SubWorkflowConfig) -> Wait:
        value = _evaluate(context, config.input, context.inputs.get("in"))
        return Wait(kind="subworkflow", payload={"workflow_id": str(config.workflow_id),
                                                 "input": _as_input(value)})


class RespondConfig(NodeConfig):
    status: int = Field(200, ge=100, le=599, title="Status code",
                        description="The HTTP status the caller gets, e.g. 200.")
    body: str = CelField("", max_length=4000, title="Body expression",
                         description="CEL giving the response body, e.g. "
                                     "{'id': run.id, 'total': input.total}; empty sends "
                                     "this node's input.")
    headers: dict[str, str] = Field(default_factory=dict, title="Headers",
                                    description="Extra HTTP headers of the answer.")
    policy: ExecutionPolicy = policy_field(help=(
        "When the body expression fails on the run's data, the caller gets: with 'Stop the "
        "run', the webhook's failure answer ('Status/Body when the run fails'); with 'On "
        "error', what a node after the 'On error' port answers (say another Respond to "
        "webhook with a fixed body), or the webhook's failure answer if none does; with "
        "the default output, that output as the body, with this node's status and "
        "headers."))


@registry.register
class RespondToWebhook(NodeType):
    type = "flow.respond"
    category = "control"
    label = "Respond to webhook"
    description = "Sets the answer of a webhook that waits for one."
    version = 2
    icon = "corner-down-left"
    pure = True
    responds = True  # the engine keeps the output as the run's response
    inputs = (Port("in"),)
    outputs = (Port("out"), ERROR_OUTPUT)
    Config = RespondConfig
    upgrades = {1: upgrade_policy_added}

    def execute(self, context: NodeContext, config: RespondConfig) -> Outputs:
        body = _evaluate(context, config.body, context.inputs.get("in"))
        return Outputs({"out": self.answer(config, body)})

    def default_output_value(self, config: RespondConfig, value: Any) -> Any:
        """The default output is the answer's body: a fallback answer, with this node's
        status and headers."""
        return self.answer(config, value)

    @staticmethod
    def answer(config: RespondConfig, body: Any) -> dict[str, Any]:
        return {"status": config.status, "body": body, "headers": config.headers}


class MapConfig(NodeConfig):
    workflow_id: uuid.UUID = Field(title="Workflow",
                                   description="A published workflow run once per item.")
    concurrency: int = Field(4, ge=1, le=64, title="Chunks at once",
                             description="How many chunks of items run at the same time.")
    chunk_size: int = Field(100, ge=1, le=1000, title="Items per chunk",
                            description="How many items one chunk holds.")
    policy: ExecutionPolicy = policy_field()


@registry.register
class MapOverList(NodeType):
    type = "flow.map"
    category = "control"
    label = "Map over list"
    description = ("Runs each item of the input list through a published workflow, a chunk "
                   "at a time; the output lists the results in the items' order.")
    icon = "repeat"
    # The list stays in the database: the engine splits it into item rows there,
    # so neither this node nor a task ever holds the whole list.
    inputs_by_reference = True
    inputs = (Port("in"),)
    outputs = (Port("out"), Port("error", required=False))
    Config = MapConfig

    def execute(self, context: NodeContext, config: MapConfig) -> Wait:
        return Wait(kind="map", payload={"workflow_id": str(config.workflow_id),
                                         "concurrency": config.concurrency,
                                         "chunk_size": config.chunk_size})
