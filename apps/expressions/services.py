"""The expressions service other apps call (the engine looks it up here)."""

from __future__ import annotations

from typing import Any

from apps.expressions.core import (
    ROOT_NAMES,
    ExpressionError,
    check,
    check_template,
    evaluate,
    render_template,
    render_value,
)


def expression_evaluate(expression: str, data: dict[str, Any]) -> Any:
    """Evaluate CEL over `data` ({"input", "nodes", "run", "vars", ...}); raises ExpressionError."""
    return evaluate(expression, data)


def expression_check(*, expression: str, template: bool = False,
                     names: tuple[str, ...] = ()) -> ExpressionError | None:
    if template:
        return check_template(expression, names=names)
    return check(expression, names=names)


def expression_data(context: Any, **extra: Any) -> dict[str, Any]:
    """The variables an expression sees inside a node, from its NodeContext:
    `input` (what arrived on the input port `in`, or all ports by name when the
    node has several), `nodes` (nodes.<id>.output), `run` (run.input, run.id, ...)
    and `vars`. Never credentials."""
    inputs = context.inputs or {}
    data = {
        "input": inputs.get("in") if set(inputs) <= {"in"} else inputs,
        "nodes": context.nodes or {},
        "run": context.run or {},
        "vars": context.vars or {},
    }
    data.update(extra)
    return data


__all__ = [
    "ROOT_NAMES", "ExpressionError", "expression_check", "expression_data",
    "expression_evaluate", "render_template", "render_value",
]
