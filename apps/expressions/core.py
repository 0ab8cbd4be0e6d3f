"""CEL expressions and `{{ }}` templates over JSON data (DESIGN.md contract 5).

Plain Python, no Django: the graph validator, the API, the nodes and the engine
all call these. Nothing here reaches Python's eval/exec: cel-cpp (through
apps.expressions.environment) parses, type-checks and evaluates CEL only, over
nothing but the data handed in (`input`, `nodes`, `run`, `vars`, plus names a node
adds such as `item`). No functions beyond CEL's standard library are registered, so
an expression cannot reach secrets, files or the network.

Checking is what the run does: the same environment compiles the expression, so
unknown names, unknown functions and provable type errors are reported at edit time
(`check`), and `expression_check(..., declarations=...)` checks against real types.

Bounds, enforced while the expression runs. Before an evaluation, the checked tree
and the sizes of the data it reads give a sound upper bound on its cost and on the
largest value it can create (apps.expressions.bounds). Within `inline_cost` and
`max_value_bytes` it runs in-process (the inline pure nodes' hot path, a few
microseconds); otherwise it runs in a sandbox subprocess with an address-space limit
and a wall-clock limit (apps.expressions.sandbox), killed when it passes either, while
the caller waits without holding the GIL. cel-cpp also stops any evaluation after
10,000 comprehension iterations and refuses nesting deeper than 32 when parsing.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from threading import Lock
from typing import Any

from apps.expressions import bounds, sandbox
from apps.expressions.environment import (
    ROOT_NAMES,
    CelError,
    compile_checked,
    dyn_declarations,
    execute,
    json_size,
    to_json,
)

__all__ = [
    "DEFAULT_LIMITS", "ROOT_NAMES", "ExpressionError", "Limits", "check", "check_template",
    "compile_expression", "evaluate", "is_template", "json_size", "render_template",
    "render_value", "to_json",
]


@dataclass(frozen=True)
class Limits:
    max_length: int = 4000  # characters in one expression
    max_template_length: int = 20000  # characters in one template string
    max_result_bytes: int = 1_000_000  # JSON size of a result or rendered template
    max_value_bytes: int = 1_000_000  # largest value created in-process (bound)
    inline_cost: int = 2_000_000  # bound on the work of an in-process evaluation
    max_seconds: float = 2.0  # wall-clock time of a sandboxed evaluation
    # the most a value may need, judged at check from literals alone; the sandbox's own
    # limit (apps.expressions.sandbox.SandboxLimits) is the same 256 MB
    max_memory_bytes: int = 256 * 1024 * 1024


DEFAULT_LIMITS = Limits()


class ExpressionError(ValueError):
    """A CEL expression that does not parse or check, or fails while evaluating.

    `position` is the 0-based character offset of the problem in the text that
    was checked (the expression, or the whole template), when it is known. `limit`
    names the bound that stopped it ("time", "memory", "size", "iterations")."""

    def __init__(self, message: str, position: int | None = None, *,
                 limit: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.limit = limit

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"message": self.message, "position": self.position}
        if self.limit:
            data["limit"] = self.limit
        return data

    def shifted(self, offset: int, prefix: str = "") -> ExpressionError:
        position = None if self.position is None else self.position + offset
        return ExpressionError(prefix + self.message, position, limit=self.limit)


# --- Compiling, with an LRU cache of checked programs --------------------------------------

@dataclass(frozen=True)
class _Compiled:
    program: Any
    tree: bounds.Node
    roots: frozenset[str]  # the variables the expression reads
    tiers: dict = field(default_factory=dict)  # Limits -> bounds.inline_tier

    def tier(self, limits: Limits) -> int:
        tier = self.tiers.get(limits)
        if tier is None:
            tier = self.tiers[limits] = bounds.inline_tier(
                self.tree, max_value=limits.max_value_bytes, max_cost=limits.inline_cost)
        return tier


class _LRU:
    def __init__(self, size: int) -> None:
        self.size = size
        self.data: OrderedDict[Any, _Compiled] = OrderedDict()
        self.lock = Lock()

    def get(self, key: Any) -> _Compiled | None:
        with self.lock:
            value = self.data.get(key)
            if value is not None:
                self.data.move_to_end(key)
            return value

    def put(self, key: Any, value: _Compiled) -> None:
        with self.lock:
            self.data[key] = value
            self.data.move_to_end(key)
            while len(self.data) > self.size:
                self.data.popitem(last=False)


_cache = _LRU(2048)


def _roots(tree: bounds.Node, declared: set[str]) -> frozenset[str]:
    found: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if node.kind == "ident" and node.name in declared:
            found.add(node.name)
        stack.extend(node.children)
        if node.target is not None:
            stack.append(node.target)
    return frozenset(found)


def compile_expression(expression: str, limits: Limits = DEFAULT_LIMITS, *,
                       declarations: tuple | None = None) -> _Compiled:
    """Parse and type-check `expression` (all variables `dyn` unless `declarations`
    say otherwise); raises ExpressionError."""
    if not isinstance(expression, str):
        raise ExpressionError("An expression must be a string.")
    if len(expression) > limits.max_length:
        raise ExpressionError(f"The expression is {len(expression)} characters long; the "
                              f"limit is {limits.max_length}.", limits.max_length)
    if not expression.strip():
        raise ExpressionError("The expression is empty.", 0)
    declarations = declarations if declarations is not None else dyn_declarations()
    key = (expression, declarations)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    try:
        program = compile_checked(expression, declarations)
    except CelError as exc:
        raise ExpressionError(exc.message, exc.position) from None
    tree = bounds.decode_checked(program.serialize())
    compiled = _Compiled(program, tree, _roots(tree, {name for name, _ in declarations}))
    _cache.put(key, compiled)
    return compiled


def check(expression: str, *, names: tuple[str, ...] | list[str] = (),
          declarations: dict[str, str] | None = None,
          limits: Limits = DEFAULT_LIMITS) -> ExpressionError | None:
    """None when `expression` is valid CEL over the known variables, else the error
    with its position: syntax, unknown variables and functions, type errors, and
    values that would pass the limits whatever the data (literals alone).

    The variables are `input`, `nodes`, `run`, `vars` and `names`, all `dyn`;
    `declarations` (name or dotted path -> CEL type name, e.g. {"input.amount":
    "int"}) replace or add to them, so that types from sample data are checked."""
    base = dict(dyn_declarations(names))
    if declarations:
        for name in declarations:
            base.pop(name.split(".")[0], None)
        base.update(declarations)
    try:
        compiled = compile_expression(expression, limits,
                                      declarations=tuple(sorted(base.items())))
    except ExpressionError as exc:
        return exc
    bound = bounds.estimate(compiled.tree, {}, cap=limits.max_value_bytes)
    if bound.created > limits.max_memory_bytes:
        return ExpressionError(
            f"The expression can build a value of about {bound.created:,} bytes from its "
            f"literals alone; the limit is {limits.max_memory_bytes:,}.", limit="memory")
    return None


# --- Evaluating --------------------------------------------------------------------------

def _limit_error(kind: str, limits: Limits) -> ExpressionError:
    if kind == "start":
        return ExpressionError("The expression could not be evaluated: its sandbox process "
                               "did not start.")
    if kind == "time":
        return ExpressionError(f"The expression ran longer than {limits.max_seconds:g} s (the "
                               "time limit) and was stopped.", limit="time")
    megabytes = sandbox.pool.limits.memory_bytes // (1024 * 1024)
    return ExpressionError(f"The expression needed more than {megabytes} MB (the memory "
                           "limit) and was stopped.", limit="memory")


def _sandboxed(compiled: _Compiled, expression: str, declarations: tuple,
               context: dict[str, Any], limits: Limits) -> Any:
    try:
        payload = json.dumps(context, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ExpressionError(f"The data cannot be evaluated: {exc}") from None
    if len(payload) > limits.max_memory_bytes // 4:
        raise ExpressionError(f"The data this expression reads is {len(payload):,} bytes; the "
                              f"limit is {limits.max_memory_bytes // 4:,}.", limit="size")
    request = {"expression": expression, "declarations": declarations,
               "context": context,
               "max_result_bytes": limits.max_result_bytes}
    try:
        answer = sandbox.pool.evaluate(request, seconds=limits.max_seconds)
    except sandbox.SandboxError as exc:
        raise _limit_error(exc.kind, limits) from None
    if "ok" in answer:
        return answer["ok"]
    if answer.get("memory"):
        raise _limit_error("memory", limits)
    message = answer.get("error") or "The expression failed."
    raise ExpressionError(message, limit=_limit_of(message))


def _limit_of(message: str) -> str | None:
    if "iterated more than" in message:
        return "iterations"
    if "larger than" in message:
        return "size"
    return None


@lru_cache(maxsize=64)
def _declarations(names: tuple[str, ...]) -> tuple:
    return dyn_declarations(tuple(name for name in names if name not in ROOT_NAMES))


def evaluate(expression: str, data: dict[str, Any], *,
             limits: Limits = DEFAULT_LIMITS) -> Any:
    """Evaluate CEL `expression` over `data` (a mapping of variable name to JSON
    value) and return a JSON-friendly result. Raises ExpressionError, whose `limit`
    says which bound stopped it, if one did."""
    declarations = _declarations(tuple(data))
    compiled = compile_expression(expression, limits, declarations=declarations)
    # Only the variables the expression names travel into the interpreter.
    context = {name: data.get(name) for name in compiled.roots}
    tier = compiled.tier(limits)
    if tier and all(json_size(value, tier) <= tier for value in context.values()):
        inline = True  # small data: the bound computed once for this expression holds
    else:
        bound = bounds.estimate(compiled.tree, context, cap=limits.max_value_bytes)
        inline = bound.created <= limits.max_value_bytes and bound.cost <= limits.inline_cost
    if inline:
        try:
            result = execute(compiled.program, context)
        except CelError as exc:
            raise ExpressionError(exc.message, limit=_limit_of(exc.message)) from None
    else:
        result = _sandboxed(compiled, expression, declarations, context, limits)
    if json_size(result, limits.max_result_bytes) > limits.max_result_bytes:
        raise ExpressionError(f"The result is larger than {limits.max_result_bytes:,} bytes "
                              "(the limit).", limit="size")
    return result


# --- Templates: "Hello {{ input.name }}" -------------------------------------------------

@dataclass(frozen=True)
class _Segment:
    text: str | None = None  # literal text
    expression: str | None = None
    offset: int = 0  # where the expression starts in the template


def _split_template(template: str) -> list[_Segment]:
    segments: list[_Segment] = []
    i = literal_start = 0
    n = len(template)
    while True:
        start = template.find("{{", i)
        if start < 0:
            break
        j, braces = start + 2, 0
        quote = None
        end = -1
        while j < n:
            ch = template[j]
            if quote:
                if ch == "\\":
                    j += 2
                    continue
                if ch == quote:
                    quote = None
            elif ch in "'\"":
                quote = ch
            elif ch == "{":
                braces += 1
            elif ch == "}":
                if braces == 0 and template.startswith("}}", j):
                    end = j
                    break
                braces -= 1
            j += 1
        if end < 0:
            raise ExpressionError("'{{' is not closed by '}}'.", start)
        if start > literal_start:
            segments.append(_Segment(text=template[literal_start:start]))
        inner = template[start + 2: end]
        lead = len(inner) - len(inner.lstrip())
        segments.append(_Segment(expression=inner.strip(), offset=start + 2 + lead))
        i = literal_start = end + 2
    if literal_start < n:
        segments.append(_Segment(text=template[literal_start:]))
    return segments


def is_template(text: str) -> bool:
    return isinstance(text, str) and "{{" in text


def check_template(template: str, *, names: tuple[str, ...] | list[str] = (),
                   declarations: dict[str, str] | None = None,
                   limits: Limits = DEFAULT_LIMITS) -> ExpressionError | None:
    """None when every `{{ expression }}` in `template` is valid; else the first
    error, its position counted from the start of the template."""
    if len(template) > limits.max_template_length:
        return ExpressionError(f"The text is {len(template)} characters long; the limit is "
                               f"{limits.max_template_length}.", limits.max_template_length)
    try:
        segments = _split_template(template)
    except ExpressionError as exc:
        return exc
    for segment in segments:
        if segment.expression is not None:
            error = check(segment.expression, names=names, declarations=declarations,
                          limits=limits)
            if error is not None:
                return error.shifted(segment.offset) if error.position is not None else (
                    ExpressionError(error.message, segment.offset))
    return None


def _stringify(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def render_template(template: str, data: dict[str, Any], *,
                    limits: Limits = DEFAULT_LIMITS) -> Any:
    """Fill `{{ expression }}` parts of `template`. A template that is exactly one
    `{{ expression }}` gives the raw value (a number stays a number); otherwise
    values are written into the text (maps and lists as JSON, null as empty)."""
    if not isinstance(template, str) or "{{" not in template:
        return template
    if len(template) > limits.max_template_length:
        raise ExpressionError(f"The text is {len(template)} characters long; the limit is "
                              f"{limits.max_template_length}.")
    segments = _split_template(template)
    expressions = [segment for segment in segments if segment.expression is not None]
    if len(expressions) == 1 and all(not (segment.text or "").strip() for segment in segments
                                     if segment.text is not None):
        # Exactly one {{ expression }} (surrounding blanks aside): keep the value's type.
        return _evaluate_segment(expressions[0], data, limits)
    parts: list[str] = []
    size = 0
    for segment in segments:
        part = segment.text if segment.text is not None else _stringify(
            _evaluate_segment(segment, data, limits))
        size += len(part)
        if size > limits.max_result_bytes:
            raise ExpressionError(f"The text would be longer than {limits.max_result_bytes:,} "
                                  "characters.")
        parts.append(part)
    return "".join(parts)


def _evaluate_segment(segment: _Segment, data: dict[str, Any], limits: Limits) -> Any:
    try:
        return evaluate(segment.expression or "", data, limits=limits)
    except ExpressionError as exc:
        raise ExpressionError(f"In {{{{ {segment.expression} }}}}: {exc.message}",
                              None if exc.position is None else exc.position + segment.offset
                              ) from None


def render_value(value: Any, data: dict[str, Any], *, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Render templates anywhere inside a JSON value (strings in maps and lists)."""
    if isinstance(value, str):
        return render_template(value, data, limits=limits)
    if isinstance(value, dict):
        return {k: render_value(v, data, limits=limits) for k, v in value.items()}
    if isinstance(value, list):
        return [render_value(v, data, limits=limits) for v in value]
    return value
