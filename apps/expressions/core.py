"""CEL expressions and `{{ }}` templates over JSON data (DESIGN.md contract 5).

Plain Python, no Django: the graph validator, the API, the nodes and the engine
all call these. Nothing here reaches Python's eval/exec: the `cel` package (a
Rust interpreter) parses and evaluates CEL only, and it sees nothing but the
data handed in (`input`, `nodes`, `run`, `vars`, plus names a node adds such as
`item`). Credentials are never part of that data, and no Python functions are
registered, so an expression cannot reach secrets, files or the network.

Bounds. The `cel` extension holds the GIL for a whole evaluation and cannot be
interrupted, so a watchdog thread could neither pre-empt it nor even run. The
time bound is therefore enforced *before* evaluation, by a cost estimate:
expressions are capped in length, comprehension macros (`map`, `filter`, `all`,
`exists`, `exists_one`) may nest at most `max_nesting` deep, and the estimated
work (the largest list or map in the referenced data to the power of the
nesting, squared for `map`/`filter` whose accumulation is quadratic in this
interpreter) must stay under `max_cost`. Results are capped in size after.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from threading import Lock
from typing import Any

import cel

ROOT_NAMES = ("input", "nodes", "run", "vars")
COMPREHENSIONS = {"map": 2, "filter": 2, "all": 1, "exists": 1, "exists_one": 1}


@dataclass(frozen=True)
class Limits:
    max_length: int = 4000  # characters in one expression
    max_template_length: int = 20000  # characters in one template string
    max_nesting: int = 3  # comprehensions inside comprehensions
    max_cost: int = 5_000_000  # estimated steps (about a second on a slow core)
    max_result_bytes: int = 1_000_000  # JSON size of a result or rendered template


DEFAULT_LIMITS = Limits()


class ExpressionError(ValueError):
    """A CEL expression that does not parse, or fails while evaluating.

    `position` is the 0-based character offset of the problem in the text that
    was checked (the expression, or the whole template), when it is known."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position

    def as_dict(self) -> dict[str, Any]:
        return {"message": self.message, "position": self.position}

    def shifted(self, offset: int, prefix: str = "") -> ExpressionError:
        position = None if self.position is None else self.position + offset
        return ExpressionError(prefix + self.message, position)


# --- Compiling, with an LRU cache of programs --------------------------------------------

@dataclass(frozen=True)
class _Compiled:
    program: Any
    roots: frozenset[str]  # free variables (comprehension-bound names removed)
    nesting: int  # deepest comprehension nesting
    cost_terms: tuple[int, ...]  # per comprehension: exponent of N in its cost
    literal_items: int  # upper bound on the size of lists written in the expression


class _LRU:
    def __init__(self, size: int) -> None:
        self.size = size
        self.data: OrderedDict[str, _Compiled] = OrderedDict()
        self.lock = Lock()

    def get(self, key: str) -> _Compiled | None:
        with self.lock:
            value = self.data.get(key)
            if value is not None:
                self.data.move_to_end(key)
            return value

    def put(self, key: str, value: _Compiled) -> None:
        with self.lock:
            self.data[key] = value
            self.data.move_to_end(key)
            while len(self.data) > self.size:
                self.data.popitem(last=False)


_cache = _LRU(2048)
_POSITION = re.compile(r"<input>:(\d+):(\d+):\s*(?:Syntax error:\s*)?(.*)")


def _offset(text: str, line: int, column: int) -> int:
    lines = text.split("\n")
    offset = sum(len(part) + 1 for part in lines[: max(line - 1, 0)])
    return min(offset + max(column - 1, 0), len(text))


def _parse_error(expression: str, exc: Exception) -> ExpressionError:
    message = str(exc)
    match = _POSITION.search(message)
    if not match:
        return ExpressionError(message.splitlines()[0] if message else "Invalid expression.")
    line, column, detail = int(match[1]), int(match[2]), match[3].strip()
    detail = re.sub(r" expecting \{.*\}$", "", detail)
    detail = re.sub(r"^mismatched input '<EOF>'.*", "unexpected end of expression", detail)
    detail = re.sub(r"^(?:mismatched|extraneous) input ('.*?')", r"unexpected \1", detail)
    detail = detail.replace("<EOF>", "end of expression")
    return ExpressionError(f"Syntax error: {detail}", _offset(expression, line, column))


def _scan(expression: str) -> tuple[int, tuple[int, ...], set[str], int]:
    """Walk the tokens (skipping string literals): the deepest comprehension
    nesting, each comprehension's cost exponent, the names they bind, and an
    upper bound on the length of list literals."""
    stack: list[tuple[int, int]] = []  # (paren depth where it opened, exponent so far)
    depth = 0
    terms: list[int] = []
    bound: set[str] = set()
    nesting = 0
    commas = 0
    i, n = 0, len(expression)
    while i < n:
        ch = expression[i]
        if ch in "'\"":
            quote = expression[i: i + 3] if expression[i: i + 3] in ("'''", '"""') else ch
            j = i + len(quote)
            while j < n and expression[j: j + len(quote)] != quote:
                j += 2 if expression[j] == "\\" else 1
            i = j + len(quote)
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            while stack and stack[-1][0] > depth:
                stack.pop()
        elif ch == ",":
            commas += 1
        elif ch == ".":
            match = re.match(r"\.\s*(map|filter|all|exists_one|exists)\s*\(\s*([A-Za-z_]\w*)",
                             expression[i:])
            if match:
                exponent = COMPREHENSIONS[match[1]] + (stack[-1][1] if stack else 0)
                terms.append(exponent)
                bound.add(match[2])
                stack.append((depth + 1, exponent))
                nesting = max(nesting, len(stack))
        i += 1
    return nesting, tuple(terms), bound, commas + 1


def compile_expression(expression: str, limits: Limits = DEFAULT_LIMITS) -> _Compiled:
    if not isinstance(expression, str):
        raise ExpressionError("An expression must be a string.")
    if len(expression) > limits.max_length:
        raise ExpressionError(f"The expression is {len(expression)} characters long; the "
                              f"limit is {limits.max_length}.", limits.max_length)
    if not expression.strip():
        raise ExpressionError("The expression is empty.", 0)
    cached = _cache.get(expression)
    if cached is not None:
        return cached
    try:
        program = cel.compile(expression)
    except Exception as exc:  # the extension raises ValueError (and others on odd input)
        raise _parse_error(expression, exc) from None
    nesting, terms, bound, literal = _scan(expression)
    roots = frozenset(program.variables()) - bound
    compiled = _Compiled(program, roots, nesting, terms, literal)
    _cache.put(expression, compiled)
    return compiled


def _name_position(expression: str, name: str) -> int | None:
    match = re.search(rf"(?<![\w.]){re.escape(name)}\b", expression)
    return match.start() if match else None


def check(expression: str, *, names: tuple[str, ...] | list[str] = (),
          limits: Limits = DEFAULT_LIMITS) -> ExpressionError | None:
    """None when `expression` is valid CEL over the known variables (`input`,
    `nodes`, `run`, `vars` and `names`), else the error with its position."""
    try:
        compiled = compile_expression(expression, limits)
    except ExpressionError as exc:
        return exc
    known = set(ROOT_NAMES) | set(names)
    unknown = sorted(compiled.roots - known)
    if unknown:
        allowed = ", ".join(sorted(known))
        return ExpressionError(f"Unknown variable {unknown[0]!r}; use {allowed}.",
                               _name_position(expression, unknown[0]))
    if compiled.nesting > limits.max_nesting:
        return ExpressionError(f"Comprehensions (map, filter, all, exists) nest "
                               f"{compiled.nesting} deep; the limit is {limits.max_nesting}.")
    return None


# --- Evaluating --------------------------------------------------------------------------

def _largest_collection(value: Any, budget: list[int]) -> int:
    """The size of the largest list or map inside `value` (walk capped by budget)."""
    largest = 0
    stack = [value]
    while stack and budget[0] > 0:
        item = stack.pop()
        budget[0] -= 1
        if isinstance(item, dict):
            largest = max(largest, len(item))
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            largest = max(largest, len(item))
            stack.extend(item)
        elif isinstance(item, str):
            pass
    return largest


def _estimate_cost(compiled: _Compiled, context: dict[str, Any]) -> int:
    if not compiled.cost_terms:
        return 0
    size = max(_largest_collection(context, [2_000_000]), compiled.literal_items, 1)
    return sum(size ** exponent for exponent in compiled.cost_terms)


def _runtime_error(exc: Exception) -> ExpressionError:
    text = str(exc).strip("'\"")
    if isinstance(exc, KeyError):
        return ExpressionError(f"No such key: {text!r}.")
    if isinstance(exc, ZeroDivisionError):
        return ExpressionError("Division by zero.")
    match = re.match(r"Undefined variable or function: '([^']+)'", text)
    if match:
        return ExpressionError(f"Unknown variable or function {match[1]!r}.")
    return ExpressionError(text.split(". ")[0] if text else exc.__class__.__name__)


def to_json(value: Any) -> Any:
    """CEL results as JSON-friendly values: timestamps as ISO 8601 strings,
    durations as seconds, bytes as base64, map keys as strings."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if hasattr(value, "has_value"):  # cel.OptionalValue
        return to_json(value.value()) if value.has_value() else None
    return str(value)


def json_size(value: Any, limit: int) -> int:
    """The JSON length of `value`, counting no further than just past `limit`."""
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            total += 2 + 2 * len(item)
            for key, sub in item.items():
                total += len(str(key)) + 2
                stack.append(sub)
        elif isinstance(item, list):
            total += 2 + len(item)
            stack.extend(item)
        elif isinstance(item, str):
            total += len(item) + 2
        else:
            total += 8
        if total > limit:
            return total
    return total


def evaluate(expression: str, data: dict[str, Any], *,
             limits: Limits = DEFAULT_LIMITS) -> Any:
    """Evaluate CEL `expression` over `data` (a mapping of variable name to JSON
    value) and return a JSON-friendly result. Raises ExpressionError."""
    compiled = compile_expression(expression, limits)
    if compiled.nesting > limits.max_nesting:
        raise ExpressionError(f"Comprehensions nest {compiled.nesting} deep; the limit is "
                              f"{limits.max_nesting}.")
    # Only the variables the expression names travel into the interpreter.
    context = {name: data[name] for name in compiled.roots if name in data}
    cost = _estimate_cost(compiled, context)
    if cost > limits.max_cost:
        raise ExpressionError(f"The expression would take too long over this data "
                              f"(estimated {cost:,} steps; the limit is {limits.max_cost:,}). "
                              "Reduce the data or the nesting of map/filter.")
    try:
        result = compiled.program.execute(context)
    except Exception as exc:  # every failure inside CEL is the expression's error
        raise _runtime_error(exc) from None
    result = to_json(result)
    if json_size(result, limits.max_result_bytes) > limits.max_result_bytes:
        raise ExpressionError(f"The result is larger than {limits.max_result_bytes:,} bytes.")
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
            error = check(segment.expression, names=names, limits=limits)
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
