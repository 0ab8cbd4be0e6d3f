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
from apps.expressions.environment import declarations_from_sample


def expression_evaluate(expression: str, data: dict[str, Any]) -> Any:
    """Evaluate CEL over `data` ({"input", "nodes", "run", "vars", ...}); raises ExpressionError."""
    return evaluate(expression, data)


def expression_check(*, expression: str, template: bool = False, names: tuple[str, ...] = (),
                     declarations: dict[str, str] | None = None,
                     samples: dict[str, Any] | None = None) -> ExpressionError | None:
    """The error the run would give for this expression (or template), found now:
    syntax, unknown variables and functions, type errors. `declarations` gives types by
    name or dotted path ({"input.amount": "int"}); `samples` derives them from sample
    data ({"input": {"amount": 3}}), so `input.amount * 0.9` is reported with its fix."""
    declared = dict(declarations or {})
    for name, sample in (samples or {}).items():
        declared.update(declarations_from_sample(name, sample))
    if template:
        return check_template(expression, names=names, declarations=declared or None)
    return check(expression, names=names, declarations=declared or None)


def expression_preview(*, expression: str, template: bool = False,
                       samples: dict[str, Any]) -> dict[str, Any]:
    """What the expression (or template) gives on sample data, evaluated with the run's
    bounds: {"value": ...} or {"error": message}. For the editor's live preview."""
    data = {"input": samples.get("input"), "nodes": samples.get("nodes") or {},
            "run": samples.get("run") or {}, "vars": samples.get("vars") or {}}
    try:
        value = render_template(expression, data) if template else evaluate(expression, data)
    except ExpressionError as exc:
        return {"error": exc.message}
    return {"value": value}


def expression_data(context: Any, **extra: Any) -> dict[str, Any]:
    """The variables an expression sees inside a node, from its NodeContext; the one
    place that defines them, for every node type:

    - `input`: the data arriving at this node, i.e. the value on its input port (for
      a node type with several input ports, an object by port name; none: null);
    - `run`: the run (`run.input` is the trigger's input, `run.id`, `run.trace_id`,
      `run.trigger`, `run.workflow.id`, `run.workflow.version`);
    - `nodes`: `nodes.<id>.output` (first output port) and `nodes.<id>.outputs`
      (by port) of the nodes that finished before this one;
    - `vars`: the run's variables.

    `extra` adds node-specific names (`item`, `index`). Never credentials."""
    inputs = context.inputs or {}
    ports = getattr(context, "input_ports", None)
    if ports is None:  # a context built by hand: judge by what arrived
        ports = tuple(inputs) or ("in",)
    if len(ports) == 1:
        value = inputs.get(ports[0])
    elif not ports:
        value = None
    else:
        value = {port: inputs.get(port) for port in ports}
    data = {
        "input": value,
        "nodes": context.nodes or {},
        "run": context.run or {},
        "vars": context.vars or {},
    }
    data.update(extra)
    return data


__all__ = [
    "ROOT_NAMES", "ExpressionError", "expression_check", "expression_data",
    "expression_evaluate", "expression_preview", "render_template", "render_value",
]
