"""Data nodes: set fields, filter a list, merge branches, aggregate. Pure: no I/O.

Expressions are CEL (see apps.expressions): `input` is what arrived on the
node's input port, `nodes.<id>.output` any earlier node's output, `run` the
run (run.input, ...), `vars` the workflow's variables; list nodes add `item`
(and `index`) for the element at hand.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from apps.expressions.core import ExpressionError, evaluate
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
    policy_field,
    upgrade_policy_added,
)
from apps.nodes.registry import registry

MAX_ITEMS = 100_000
ITEM_NAMES = ("item", "index")


def _eval(expression: str, data: dict[str, Any], field: str) -> Any:
    try:
        return evaluate(expression, data)
    except ExpressionError as exc:
        raise NodeError("expression", f"Field {field!r}: {exc.message}",
                        details={"field": field}) from None


def _items(expression: str, data: dict[str, Any], field: str) -> list[Any]:
    value = _eval(expression, data, field)
    if isinstance(value, dict):
        value = [{"key": k, "value": v} for k, v in value.items()]
    if not isinstance(value, list):
        raise NodeError("invalid_input", f"Field {field!r} must give a list; it gave "
                        f"{type(value).__name__}.", details={"field": field})
    if len(value) > MAX_ITEMS:
        raise NodeError("too_large", f"Field {field!r} gave {len(value):,} items; the limit "
                        f"is {MAX_ITEMS:,}.", details={"field": field})
    return value


# --- data.set -------------------------------------------------------------------------

class SetField(NodeConfig):
    model_config = ConfigDict(title="Field to set")

    name: str = Field(min_length=1, max_length=200, title="Field name",
                      description="Name of the output field; dots make nested objects "
                                  "(customer.email).")
    value: str = CelField(min_length=1, max_length=4000, title="Value",
                          description="CEL expression, e.g. input.first + ' ' + input.last")


class SetConfig(NodeConfig):
    fields: list[SetField] = Field(default_factory=list, max_length=200, title="Fields",
                                   description="Computed in order; later fields may not "
                                               "see earlier ones (use one expression).")
    keep_input: bool = Field(False, title="Keep input fields",
                             description="Start from the input object and add or replace "
                                         "the fields above; otherwise output only them.")
    policy: ExecutionPolicy = policy_field()


def _assign(target: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    for part in parts[:-1]:
        nested = target.get(part)
        if not isinstance(nested, dict):
            nested = target[part] = {}
        target = nested
    target[parts[-1]] = value


@registry.register
class SetNode(NodeType):
    type = "data.set"
    category = "data"
    label = "Set fields"
    description = "Builds an object from CEL expressions, optionally on top of the input."
    version = 2
    icon = "pencil"
    pure = True
    inputs = (Port("in"),)
    outputs = (Port("out"), ERROR_OUTPUT)
    Config = SetConfig
    upgrades = {1: upgrade_policy_added}

    def execute(self, context: NodeContext, config: SetConfig) -> Outputs:
        data = expression_data(context)
        source = data["input"]
        out: dict[str, Any] = dict(source) if config.keep_input and isinstance(
            source, dict) else {}
        for index, item in enumerate(config.fields):
            _assign(out, item.name, _eval(item.value, data, f"fields[{index}].value"))
        return Outputs({"out": out})


# --- data.filter ----------------------------------------------------------------------

class FilterConfig(NodeConfig):
    items: str = CelField("input", min_length=1, max_length=4000, title="List",
                          description="CEL expression giving the list to filter "
                                      "(default: the input itself).")
    condition: str = CelField(min_length=1, max_length=4000, names=ITEM_NAMES,
                              title="Keep when",
                              description="CEL condition on each list element, item (and "
                                          "its position, index), e.g. item.amount > 100")
    policy: ExecutionPolicy = policy_field()


@registry.register
class FilterNode(NodeType):
    type = "data.filter"
    category = "data"
    label = "Filter list"
    description = "Keeps the items of a list for which a CEL condition is true."
    version = 2
    icon = "filter"
    pure = True
    inputs = (Port("in"),)
    outputs = (Port("out", label="kept"), Port("rejected", required=False), ERROR_OUTPUT)
    Config = FilterConfig
    upgrades = {1: upgrade_policy_added}

    def execute(self, context: NodeContext, config: FilterConfig) -> Outputs:
        data = expression_data(context)
        kept, rejected = [], []
        for index, item in enumerate(_items(config.items, data, "items")):
            verdict = _eval(config.condition, {**data, "item": item, "index": index},
                            "condition")
            if not isinstance(verdict, bool):
                raise NodeError("expression", f"Field 'condition' must give true or false; "
                                f"it gave {verdict!r} for item {index}.",
                                details={"field": "condition"})
            (kept if verdict else rejected).append(item)
        return Outputs({"out": kept, "rejected": rejected})


# --- data.merge -----------------------------------------------------------------------

class MergeConfig(NodeConfig):
    join: Literal["all", "first"] = Field(
        "all", title="Wait for",
        description="all: run once every incoming branch has finished or been skipped, "
                    "with the values of those that produced one (in edge order). "
                    "first: run as soon as one branch delivers, with that value; later "
                    "ones are ignored. The engine's scheduler reads this field.")
    combine: Literal["list", "object", "concat"] = Field(
        "list", title="Combine as",
        description="list: a list of the values; object: the objects merged key by key "
                    "(later branches win); concat: lists joined into one.")
    policy: ExecutionPolicy = policy_field()


@registry.register
class MergeNode(NodeType):
    type = "data.merge"
    category = "data"
    label = "Merge"
    description = "Joins several branches: waits for all (or the first) and combines them."
    version = 2
    icon = "merge"
    pure = True
    inputs = (Port("in", multiple=True),)
    outputs = (Port("out"), ERROR_OUTPUT)
    Config = MergeConfig
    upgrades = {1: upgrade_policy_added}

    def execute(self, context: NodeContext, config: MergeConfig) -> Outputs:
        values = context.inputs.get("in")
        values = values if isinstance(values, list) else ([] if values is None else [values])
        if config.join == "first":
            values = values[:1]
        if config.combine == "list":
            return Outputs({"out": values})
        if config.combine == "object":
            out: dict[str, Any] = {}
            for index, value in enumerate(values):
                if not isinstance(value, dict):
                    raise NodeError("invalid_input", f"Combine 'object' needs objects; branch "
                                    f"{index} gave {type(value).__name__}.")
                out.update(value)
            return Outputs({"out": out})
        joined: list[Any] = []
        for value in values:
            joined.extend(value if isinstance(value, list) else [value])
        return Outputs({"out": joined})


# --- data.aggregate -------------------------------------------------------------------

class AggregateConfig(NodeConfig):
    items: str = CelField("input", min_length=1, max_length=4000, title="List",
                          description="CEL expression giving the list (default: the input).")
    operation: Literal["count", "sum", "avg", "min", "max"] = Field(
        "count", title="Operation",
        description="Count the items, or the sum, average, smallest or largest value.")
    value: str = CelField("", max_length=4000, names=ITEM_NAMES, title="Value",
                          description="CEL expression on each list element, item, giving the number to "
                                      "sum, average or compare (not needed for count).")
    group_by: str = CelField("", max_length=4000, names=ITEM_NAMES, title="Group by",
                             description="Optional CEL key on each element, item, e.g. item.country; "
                                         "gives one result per distinct key.")
    policy: ExecutionPolicy = policy_field()

    def needs_value(self) -> bool:
        return self.operation != "count"


def _reduce(operation: str, values: list[Any]) -> Any:
    if operation == "count":
        return len(values)
    if not values:
        return 0 if operation == "sum" else None
    if operation == "sum":
        return sum(values)
    if operation == "avg":
        return sum(values) / len(values)
    return min(values) if operation == "min" else max(values)


@registry.register
class AggregateNode(NodeType):
    type = "data.aggregate"
    category = "data"
    label = "Aggregate"
    description = "Count, sum, average, min or max over a list, optionally grouped by a key."
    version = 2
    icon = "sigma"
    pure = True
    inputs = (Port("in"),)
    outputs = (Port("out"), ERROR_OUTPUT)
    Config = AggregateConfig
    upgrades = {1: upgrade_policy_added}

    def check(self, config: AggregateConfig) -> list[str]:
        problems = super().check(config)
        if config.needs_value() and not config.value.strip():
            problems.append(f"field 'value': the operation {config.operation!r} needs a "
                            "value expression.")
        return problems

    def execute(self, context: NodeContext, config: AggregateConfig) -> Outputs:
        data = expression_data(context)
        groups: dict[str, tuple[Any, list[Any]]] = {}
        for index, item in enumerate(_items(config.items, data, "items")):
            scope = {**data, "item": item, "index": index}
            key = _eval(config.group_by, scope, "group_by") if config.group_by.strip() else None
            if config.needs_value():
                number = _eval(config.value, scope, "value")
                if config.operation in ("sum", "avg") and (
                        not isinstance(number, int | float) or isinstance(number, bool)):
                    raise NodeError("invalid_input", f"Field 'value' must give a number for "
                                    f"{config.operation}; item {index} gave {number!r}.",
                                    details={"field": "value"})
            else:
                number = None
            slot = groups.setdefault(repr(key), (key, []))
            slot[1].append(number)
        try:
            results = [{"key": key, "value": _reduce(config.operation, values),
                        "count": len(values)} for key, values in groups.values()]
        except TypeError as exc:
            raise NodeError("invalid_input", f"Cannot compare the values: {exc}.") from None
        if config.group_by.strip():
            return Outputs({"out": {"groups": results}})
        whole = results[0] if results else {"value": _reduce(config.operation, []), "count": 0}
        return Outputs({"out": {"value": whole["value"], "count": whole["count"]}})
