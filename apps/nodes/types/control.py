"""Control nodes: branch (if, switch), wait (delay, wait until) and stop.

The engine follows only the output ports present in `Outputs`; a timer `Wait`
carries the outputs to fire when it comes due in `payload["outputs"]`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import ConfigDict, Field

from apps.expressions.core import ExpressionError, evaluate, render_template
from apps.expressions.fields import CelField, TemplateField
from apps.expressions.services import expression_data
from apps.nodes.base import (
    ERROR_OUTPUT,
    ERROR_PORT,
    ERROR_PORT_LABEL,
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

MAX_CASES = 10
MAX_WAIT = timedelta(days=366)


def _condition(expression: str, data: dict[str, Any], field: str) -> bool:
    try:
        value = evaluate(expression, data)
    except ExpressionError as exc:
        raise NodeError("expression", f"Field {field!r}: {exc.message}",
                        details={"field": field}) from None
    if not isinstance(value, bool):
        raise NodeError("expression", f"Field {field!r} must give true or false; it gave "
                        f"{value!r}.", details={"field": field})
    return value


def _passed_on(context: NodeContext) -> Any:
    return context.inputs.get("in")


class IfConfig(NodeConfig):
    condition: str = CelField(min_length=1, max_length=4000, title="Condition",
                              description="CEL expression giving true or false, e.g. "
                                          "input.score >= 0.8")
    policy: ExecutionPolicy = policy_field()


@registry.register
class IfNode(NodeType):
    type = "control.if"
    category = "control"
    label = "If"
    description = ("Sends the input down 'true' or 'false' by a CEL condition; a default "
                   "output after a failure leaves by 'false'.")
    version = 2
    icon = "git-branch"
    pure = True
    inputs = (Port("in"),)
    outputs = (Port("true"), Port("false"), ERROR_OUTPUT)
    Config = IfConfig
    upgrades = {1: upgrade_policy_added}
    default_output_port = "false"  # a condition that could not be read is not true

    def execute(self, context: NodeContext, config: IfConfig) -> Outputs:
        taken = _condition(config.condition, expression_data(context), "condition")
        return Outputs({"true" if taken else "false": _passed_on(context)})


class SwitchCase(NodeConfig):
    model_config = ConfigDict(title="Case")

    label: str = Field("", max_length=100, title="Label",
                       description="Names this case's output port on the canvas.")
    condition: str = CelField(min_length=1, max_length=4000, title="When",
                              description="CEL condition; the first true case wins.")


class SwitchConfig(NodeConfig):
    cases: list[SwitchCase] = Field(
        default_factory=list, max_length=MAX_CASES, title="Cases",
        description=f"Checked in order: the input leaves by the port of the first case "
                    f"whose condition is true (up to {MAX_CASES} cases), or by 'Default' "
                    "when none is.")
    policy: ExecutionPolicy = policy_field()


@registry.register
class SwitchNode(NodeType):
    """One output port per case (`case1`, `case2`, ... labelled with the case's label)
    and `default`; case N of the config fires port `caseN`. `outputs` lists every port
    any config can give (`case1`..`case10`)."""

    type = "control.switch"
    category = "control"
    label = "Switch"
    description = ("Routes the input to the first case whose CEL condition is true; a "
                   "default output after a failure leaves by 'Default'.")
    version = 2
    icon = "split"
    pure = True
    inputs = (Port("in"),)
    outputs = tuple(Port(f"case{n}", required=False) for n in range(1, MAX_CASES + 1)) + (
        Port("default", required=False), ERROR_OUTPUT)
    output_rule = [
        {"from": "cases", "name": "case{n}", "label": "{label}", "fallback_label": "Case {n}",
         "max": MAX_CASES, "required": False},
        {"name": "default", "label": "Default", "required": False},
        {"name": ERROR_PORT, "label": ERROR_PORT_LABEL, "required": False, "multiple": False,
         "when": {"field": "policy.on_error", "equals": "error_port", "default": "fail"}},
    ]
    Config = SwitchConfig
    upgrades = {1: upgrade_policy_added}
    default_output_port = "default"  # no case was found true

    def execute(self, context: NodeContext, config: SwitchConfig) -> Outputs:
        data = expression_data(context)
        for index, case in enumerate(config.cases):
            if _condition(case.condition, data, f"cases[{index}].condition"):
                return Outputs({f"case{index + 1}": _passed_on(context)})
        return Outputs({"default": _passed_on(context)})


UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


class DelayConfig(NodeConfig):
    amount: float = Field(1, ge=0, le=366 * 86400, title="Wait for",
                          description="How long to wait, in the unit below (at most 366 days).")
    unit: Literal["seconds", "minutes", "hours", "days"] = Field(
        "minutes", title="Unit", description="Seconds, minutes, hours or days.")


def _now(context: NodeContext) -> datetime:
    clock = context.services.get("now") if context.services else None
    return clock() if clock else datetime.now(UTC)


@registry.register
class DelayNode(NodeType):
    type = "control.delay"
    category = "control"
    label = "Delay"
    description = "Waits a while, then passes its input on."
    icon = "clock"
    inputs = (Port("in"),)
    outputs = (Port("out"),)
    Config = DelayConfig

    def check(self, config: DelayConfig) -> list[str]:
        problems = super().check(config)
        if timedelta(seconds=config.amount * UNITS[config.unit]) > MAX_WAIT:
            problems.append("field 'amount': a delay may be at most 366 days.")
        return problems

    def execute(self, context: NodeContext, config: DelayConfig) -> Wait:
        until = _now(context) + timedelta(seconds=config.amount * UNITS[config.unit])
        return Wait(kind="timer", until=until,
                    payload={"outputs": {"out": _passed_on(context)}})


class WaitUntilConfig(NodeConfig):
    at: str = TemplateField(min_length=1, max_length=4000, title="Until",
                            description="An ISO 8601 date-time (2025-01-31T09:00:00Z) or a "
                                        "template such as {{ input.due_at }} or "
                                        "{{ timestamp(run.input.at) + duration('1h') }}.")
    policy: ExecutionPolicy = policy_field()


def _parse_when(value: Any) -> datetime:
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise NodeError("invalid_input", f"Field 'at' gave {value!r}, which is not an "
                            "ISO 8601 date-time.", details={"field": "at"}) from None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        when = datetime.fromtimestamp(value, UTC)  # seconds since the epoch
    else:
        raise NodeError("invalid_input", f"Field 'at' gave {value!r}, not a date-time.",
                        details={"field": "at"})
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@registry.register
class WaitUntilNode(NodeType):
    type = "control.wait_until"
    category = "control"
    label = "Wait until"
    description = "Waits until a date and time, then passes its input on."
    version = 2
    icon = "calendar-clock"
    inputs = (Port("in"),)
    outputs = (Port("out"), ERROR_OUTPUT)
    Config = WaitUntilConfig
    upgrades = {1: upgrade_policy_added}

    def execute(self, context: NodeContext, config: WaitUntilConfig) -> Outputs | Wait:
        try:
            rendered = render_template(config.at, expression_data(context))
        except ExpressionError as exc:
            raise NodeError("expression", f"Field 'at': {exc.message}",
                            details={"field": "at"}) from None
        when = _parse_when(rendered)
        if when <= _now(context):
            return Outputs({"out": _passed_on(context)})
        return Wait(kind="timer", until=when, payload={"outputs": {"out": _passed_on(context)}})


class StopConfig(NodeConfig):
    message: str = TemplateField("The workflow was stopped.", min_length=1, max_length=2000,
                                 title="Error message",
                                 description="Why the run stops; may use {{ expression }}.")
    error_type: str = Field("stopped", pattern=r"^[a-z][a-z0-9_.]{0,63}$", title="Error type",
                            description="A short machine name stored with the error.")


@registry.register
class StopNode(NodeType):
    type = "control.stop"
    category = "control"
    label = "Stop with error"
    description = "Fails the run with a message (the error path, if any, takes over)."
    icon = "octagon-x"
    pure = True
    inputs = (Port("in"),)
    outputs = ()
    Config = StopConfig

    def execute(self, context: NodeContext, config: StopConfig) -> Outputs:
        try:
            message = render_template(config.message, expression_data(context))
        except ExpressionError as exc:
            message = f"{config.message} (the message could not be filled in: {exc.message})"
        raise NodeError(config.error_type, str(message)[:2000], retryable=False)
