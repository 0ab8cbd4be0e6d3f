"""The `human.approval` node type: the run waits for a person's decision.

The node renders everything a reviewer reads (title, instructions, context, form
prefill) from the run's data when it runs, and returns a `Wait(kind="approval")`
whose payload carries it; the approvals app creates the task from that payload in the
same transaction that makes the node wait (apps.approvals.engine). The decision
resumes the node on its `approved` or `rejected` port with
`{decision, comment, decided_by, decided_at, form, task_id}`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from apps.expressions.fields import CelField, TemplateField
from apps.expressions.services import (
    ExpressionError,
    expression_data,
    expression_evaluate,
    render_template,
)
from apps.nodes.base import (
    ERROR_OUTPUT,
    EnvironmentProblem,
    ExecutionPolicy,
    NodeConfig,
    NodeContext,
    NodeError,
    NodeType,
    Port,
    Wait,
    policy_field,
    upgrade_policy_added,
)
from apps.nodes.registry import registry

WAIT_KIND = "approval"
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
CONTEXT_KINDS = ("auto", "text", "number", "percent", "confidence", "link", "list", "table",
                 "object", "explanation")
INFERENCE_TYPES = ("inference.triton",)
EXPLANATION_LABEL = "Why the model said this"


def duration_s(text: str | None) -> int | None:
    """Seconds in a duration such as "30m", "4h", "2d" (None for empty)."""
    if text is None or not str(text).strip():
        return None
    match = _DURATION.match(str(text))
    if match is None:
        raise ValueError(f"{text!r} is not a duration: write a number and a unit, "
                         "such as 30m, 4h, 2d or 1w")
    return int(match.group(1)) * _UNITS[match.group(2)]


class ContextItem(NodeConfig):
    label: str = Field(min_length=1, max_length=100, title="Label",
                       description="What the reviewer reads next to the value.")
    expression: str = CelField(min_length=1, max_length=2000, title="Value",
                               description="An expression over the run's data, such as "
                                           "nodes.classify.output.confidence.")
    kind: Literal[CONTEXT_KINDS] = Field(  # type: ignore[valid-type]
        "auto", title="Shown as",
        description="auto: text as text, numbers formatted, lists as tables; confidence "
                    "draws a bar.")


class OverdueStep(NodeConfig):
    after: str = Field(title="After", description="Time past the due time, such as 0m, 4h.")
    action: Literal["remind", "escalate", "approve", "reject"] = Field(
        title="Then", description="Remind the assignees, escalate to another team, or "
                                  "decide for them.")
    team: str = Field("", max_length=100, title="Team to escalate to",
                      description="With 'escalate': the team that gets the task.")
    every: str = Field("", title="Repeat every",
                       description="For reminders: repeat until the next step (empty: once).")

    @field_validator("after", "every")
    @classmethod
    def _duration(cls, value: str) -> str:
        duration_s(value)
        return value

    @model_validator(mode="after")
    def _team_for_escalation(self) -> OverdueStep:
        if self.action == "escalate" and not self.team.strip():
            raise ValueError("an escalation needs the team to escalate to")
        return self


class ApprovalConfig(NodeConfig):
    title: str = TemplateField(min_length=1, max_length=300, title="Title",
                               description="What the task is about; may use {{ expression }}, "
                                           "e.g. Invoice {{ input.number }}.")
    instructions: str = TemplateField("", max_length=5000, title="Instructions",
                                      description="What the reviewer should check.")
    assignee_users: list[str] = Field(default_factory=list, max_length=100,
                                      title="Reviewers", description="User names.")
    assignee_teams: list[str] = Field(default_factory=list, max_length=20, title="Teams",
                                      description="Team names; any member may claim.")
    decisions_needed: Literal["any", "all", "quorum"] = Field(
        "any", title="Decisions needed",
        description="Any one assignee; all listed reviewers; or a number of them. A reject "
                    "by anyone rejects.")
    quorum: int = Field(2, ge=1, le=100, title="How many approvals",
                        description="When decisions needed is 'a number of them'.")
    due_in: str = Field("", title="Due in", description="Such as 4h or 2d; empty: no due time.")
    follow_up_in: str = Field("", title="Follow up in",
                              description="A reminder before the due time, such as 2h.")
    when_overdue: list[OverdueStep] = Field(default_factory=list, max_length=10,
                                            title="When overdue",
                                            description="Steps in order after the due time.")
    context: list[ContextItem] = Field(default_factory=list, max_length=30,
                                       title="What the reviewer sees",
                                       description="Labelled values shown with the task.")
    form_schema: dict[str, Any] | None = Field(
        None, title="Form", description="A JSON Schema of fields the reviewer may correct.")
    form_values: dict[str, str] = CelField(
        default_factory=dict, title="Form prefill",
        description="For each form field, an expression giving its first value.")
    forbid_self_approval: bool = Field(False, title="Forbid self-approval",
                                       description="Whoever started the run cannot decide.")
    reviews_node: str = Field(
        "", max_length=64, title="Model answer under review",
        description="The id of an upstream model-inference node whose answer the reviewer "
                    "decides on: its explanation is shown, and each decision counts toward "
                    "the model's reviewer agreement. Empty: none.")
    label_field: str = Field(
        "", max_length=100, title="Corrected label field",
        description="With a model under review: the form field where the reviewer keeps or "
                    "corrects the model's label (prefill it with the model's label). Empty: "
                    "approving keeps the label, rejecting disagrees.")
    policy: ExecutionPolicy = policy_field()

    @field_validator("due_in", "follow_up_in")
    @classmethod
    def _duration(cls, value: str) -> str:
        duration_s(value)
        return value

    @field_validator("form_schema")
    @classmethod
    def _schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import SchemaError

        try:
            Draft202012Validator.check_schema(value)
        except SchemaError as exc:
            raise ValueError(f"not a valid JSON Schema: {exc.message}") from None
        if value.get("type", "object") != "object":
            raise ValueError("the form's schema must describe an object")
        return value

    @model_validator(mode="after")
    def _label_field_in_form(self) -> ApprovalConfig:
        if self.label_field and not self.reviews_node:
            raise ValueError("a corrected label field needs the model answer under review")
        properties = (self.form_schema or {}).get("properties") or {}
        if self.label_field and self.label_field not in properties:
            raise ValueError(f"the corrected label field {self.label_field!r} is not a field "
                             "of the form")
        return self

    @model_validator(mode="after")
    def _someone_decides(self) -> ApprovalConfig:
        if not self.assignee_users and not self.assignee_teams:
            raise ValueError("name at least one reviewer or team")
        if self.decisions_needed == "all" and not self.assignee_users:
            raise ValueError("'all' needs reviewers listed by name")
        return self


def is_explanation(value: Any) -> bool:
    """A model's explanation: [{feature, contribution}] (apps.inference.client)."""
    return isinstance(value, list) and bool(value) and all(
        isinstance(v, dict) and isinstance(v.get("feature"), str)
        and isinstance(v.get("contribution"), int | float) for v in value)


def _value_kind(value: Any, kind: str) -> str:
    if kind != "auto":
        return kind
    if is_explanation(value):
        return "explanation"
    if isinstance(value, bool) or value is None:
        return "text"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "link" if re.match(r"^https?://", value) else "text"
    if isinstance(value, list):
        return "table" if value and all(isinstance(v, dict) for v in value) else "list"
    return "object"


@registry.register
class ApprovalNode(NodeType):
    type = "human.approval"
    category = "human"
    label = "Approval"
    description = ("Waits for a person to approve or reject, in the reviewer inbox; "
                   "continues on the approved or rejected port. A default output after a "
                   "failure (a title that cannot be filled in) leaves by 'rejected'.")
    version = 2
    icon = "user-check"
    pure = True  # it renders its task and waits: no I/O
    inputs = (Port("in"),)
    outputs = (Port("approved", required=False), Port("rejected", required=False),
               ERROR_OUTPUT)
    Config = ApprovalConfig
    upgrades = {1: upgrade_policy_added}
    default_output_port = "rejected"  # nobody approved: a failure never approves

    @classmethod
    def node_references(cls, config: ApprovalConfig) -> list[tuple[str, str, tuple[str, ...]]]:  # type: ignore[override]
        """The reviewed node must be an upstream model-inference node."""
        return [("reviews_node", config.reviews_node, INFERENCE_TYPES)] \
            if config.reviews_node else []

    @classmethod
    def check_environment(cls, config: ApprovalConfig) -> list[EnvironmentProblem]:  # type: ignore[override]
        """At publish: every named reviewer and team exists (and the teams have members)."""
        from apps.approvals.selectors import assignee_problems

        return [EnvironmentProblem(message=message, code="unknown_assignee", field=field)
                for field, message in assignee_problems(users=config.assignee_users,
                                                        teams=config.assignee_teams,
                                                        overdue=config.when_overdue)]

    def execute(self, context: NodeContext, config: ApprovalConfig) -> Wait:
        data = expression_data(context)

        def render(text: str, field: str) -> str:
            try:
                value = render_template(text, data)
            except ExpressionError as exc:
                raise NodeError("expression", f"Field {field!r}: {exc.message}",
                                details={"field": field}) from None
            return "" if value is None else str(value)

        def evaluate(expression: str, field: str) -> Any:
            try:
                return expression_evaluate(expression, data)
            except ExpressionError as exc:
                raise NodeError("expression", f"Field {field!r}: {exc.message}",
                                details={"field": field}) from None

        items = []
        for index, item in enumerate(config.context):
            value = evaluate(item.expression, f"context[{index}].expression")
            items.append({"label": item.label, "value": value,
                          "kind": _value_kind(value, item.kind)})
        reviewed = (context.nodes.get(config.reviews_node) or {}).get("output") \
            if config.reviews_node else None
        explanation = reviewed.get("explanation") if isinstance(reviewed, dict) else None
        if is_explanation(explanation) and not any(i["kind"] == "explanation" for i in items):
            items.append({"label": EXPLANATION_LABEL, "value": explanation,
                          "kind": "explanation"})
        form_values = {name: evaluate(expression, f"form_values.{name}")
                       for name, expression in config.form_values.items()}
        payload = {
            "title": render(config.title, "title")[:300],
            "instructions": render(config.instructions, "instructions")[:5000],
            "context": items,
            "form_schema": config.form_schema,
            "form_values": form_values,
            "assignee_users": config.assignee_users,
            "assignee_teams": config.assignee_teams,
            "mode": {"any": "any", "all": "all", "quorum": "quorum"}[config.decisions_needed],
            "quorum": config.quorum,
            "due_in_s": duration_s(config.due_in),
            "follow_up_in_s": duration_s(config.follow_up_in),
            "overdue_steps": [{"after_s": duration_s(step.after), "action": step.action,
                               "team": step.team, "every_s": duration_s(step.every)}
                              for step in config.when_overdue],
            "forbid_self_approval": config.forbid_self_approval,
        }
        return Wait(kind=WAIT_KIND, payload=payload)
