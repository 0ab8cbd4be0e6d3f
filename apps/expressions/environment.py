"""The CEL library behind every expression: Google's cel-cpp through `cel-expr-python`.

Plain Python, no Django: the web process, the workers and the sandbox subprocess
(apps.expressions.sandbox) all import it. One place builds environments, compiles
(parse + type check), evaluates and turns results and errors into plain values, so
that checking and running can never disagree about what an expression means.

- Every variable is declared; by default as `dyn` (JSON data has no schema), so the
  checker reports unknown names and unknown functions, and type errors it can prove
  (`1 + 'a'`). Declarations with real types (e.g. from sample data) make it report
  more: `input.amount * 0.9` on an int.
- cel-cpp refuses expressions nested deeper than 32 while parsing and stops any
  evaluation after 10,000 comprehension iterations (its built-in budget).
- It holds the GIL for a whole evaluation and cannot be interrupted: the time and
  size bounds are the caller's (apps.expressions.core and .sandbox).
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from cel_expr_python import cel

ROOT_NAMES = ("input", "nodes", "run", "vars")
ITERATION_BUDGET = 10_000  # cel-cpp's own limit on comprehension iterations per evaluation
PARSE_DEPTH = 32  # cel-cpp's own limit on nesting while parsing


class CelError(ValueError):
    """What cel-cpp said, as a message and a 0-based position in the expression."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


# --- Types: declarations by name ----------------------------------------------------------

_SIMPLE_TYPES = {
    "dyn": cel.Type.DYN, "int": cel.Type.INT, "uint": cel.Type.UINT, "double": cel.Type.DOUBLE,
    "bool": cel.Type.BOOL, "string": cel.Type.STRING, "bytes": cel.Type.BYTES,
    "null": cel.Type.NULL, "timestamp": cel.Type.TIMESTAMP, "duration": cel.Type.DURATION,
}


def parse_type(text: str) -> Any:
    """A cel Type from its name: `int`, `list(string)`, `map(string, dyn)`."""
    text = text.strip()
    if text in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[text]
    match = re.fullmatch(r"list\((.*)\)", text)
    if match:
        return cel.Type.List(parse_type(match[1]))
    match = re.fullmatch(r"map\(\s*(\w+)\s*,(.*)\)", text)
    if match:
        return cel.Type.Map(parse_type(match[1]), parse_type(match[2]))
    raise ValueError(f"Unknown CEL type {text!r}.")


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "dyn"  # null in a sample says nothing about the type
    if isinstance(value, list):
        kinds = {_type_name(item) for item in value}
        return f"list({kinds.pop()})" if len(kinds) == 1 and "dyn" not in kinds else "list(dyn)"
    return "map(string, dyn)"


MAX_SAMPLE_DECLARATIONS = 1_000  # typed names from one sample; past them, fields are dyn
_FIELD = re.compile(r"[A-Za-z_]\w*")


def declarations_from_sample(name: str, sample: Any, *, depth: int = 4,
                             budget: list[int] | None = None) -> dict[str, str]:
    """Declarations (name or dotted path -> type name) for a sample JSON value, as the
    run would see it: an object is a `map(string, dyn)` (so `input`, `input.customer`,
    `input["key"]`, `has(input.x)` and fields the sample lacks all check as the run
    would take them), and each of its fields reachable by name also gets the type its
    sample value gives: `{"amount": 3}` under "input" gives {"input": "map(string, dyn)",
    "input.amount": "int"}, so `input.amount * 0.9` is reported. A field missing from
    the sample is no error: it may arrive at run time (the preview shows it missing)."""
    budget = [MAX_SAMPLE_DECLARATIONS] if budget is None else budget
    budget[0] -= 1
    if not isinstance(sample, dict) or not sample or depth <= 0:
        return {name: _type_name(sample)}
    declarations = {name: "map(string, dyn)"}
    for key, value in sample.items():
        if budget[0] <= 0:
            break
        if isinstance(key, str) and _FIELD.fullmatch(key):  # others: by index only, dyn
            declarations.update(declarations_from_sample(f"{name}.{key}", value,
                                                         depth=depth - 1, budget=budget))
    return declarations


@lru_cache(maxsize=256)
def environment(declarations: tuple[tuple[str, str], ...]) -> Any:
    return cel.NewEnv(variables={name: parse_type(kind) for name, kind in declarations})


def dyn_declarations(names: tuple[str, ...] | list[str] | frozenset[str] = ()) -> tuple:
    return tuple(sorted((name, "dyn") for name in set(ROOT_NAMES) | set(names)))


# --- Compiling ------------------------------------------------------------------------------

_LOCATION = re.compile(r"ERROR: <input>:(-?\d+):(-?\d+): (.*)")


def _offset(text: str, line: int, column: int) -> int | None:
    if line < 1 or column < 1:
        return None
    lines = text.split("\n")
    offset = sum(len(part) + 1 for part in lines[: line - 1])
    return min(offset + column - 1, len(text))


def _name_position(expression: str, name: str) -> int | None:
    match = re.search(rf"(?<![\w.]){re.escape(name)}\b", expression)
    return match.start() if match else None


def compile_error(expression: str, exc: Exception, known: tuple[str, ...]) -> CelError:
    """cel-cpp's first compile error, rewritten for a builder."""
    text = str(exc)
    match = _LOCATION.search(text)
    if "recursion" in text and "limit" in text or "max recursion depth" in text:
        return CelError(f"The expression nests deeper than {PARSE_DEPTH} levels (the limit).")
    if not match:
        first = text.splitlines()[0] if text else "Invalid expression."
        return CelError(re.sub(r"^[A-Z_]+: ", "", first))
    position = _offset(expression, int(match[1]), int(match[2]))
    detail = match[3].strip()
    undeclared = re.match(r"undeclared reference to '([^']+)'", detail)
    if undeclared:
        name = undeclared[1]
        after = expression[(position or 0):].lstrip()
        if after.startswith("(") or (position is not None and "(" in
                                     expression[position:position + len(name) + 2]):
            return CelError(f"Unknown function {name.split('.')[-1]!r}.", _function_position(
                expression, name.split(".")[-1], position))
        head = name.split(".")[0]
        if head in known or any(k.startswith(head + ".") for k in known):
            return CelError(f"Unknown name {name!r}; known: {', '.join(sorted(known))}.",
                            _name_position(expression, name) or position)
        roots = sorted({k.split(".")[0] for k in known})
        return CelError(f"Unknown variable {head!r}; use {', '.join(roots)}.",
                        _name_position(expression, head) if _name_position(expression, head)
                        is not None else position)
    overload = re.match(r"found no matching overload for '([^']+)' applied to '(.*)'$", detail)
    if overload:
        function, args = overload[1], overload[2]
        hint = ""
        if "int" in args and "double" in args:
            hint = " Convert explicitly, e.g. " + _conversion(expression, position, args) + "."
        return CelError(f"No {_operator(function)} for {args}.{hint}", position)
    if detail.startswith("Syntax error:"):
        detail = re.sub(r" expecting \{.*\}$", "", detail)
        detail = re.sub(r"mismatched input '<EOF>'.*", "unexpected end of expression", detail)
        detail = re.sub(r"(?:mismatched|extraneous) input ('.*?')", r"unexpected \1", detail)
        detail = detail.replace("<EOF>", "end of expression")
        return CelError(detail, position)
    if "max recursion depth" in detail or "recursion limit" in detail:
        return CelError(f"The expression nests deeper than {PARSE_DEPTH} levels (the limit).",
                        position)
    return CelError(detail[:1].upper() + detail[1:], position)


def _conversion(expression: str, position: int | None, args: str) -> str:
    """`double(input.amount)` for `input.amount * 0.9` where input.amount is an int."""
    kinds = [part.strip() for part in args.strip("()").split(",")]
    if position is None or len(kinds) != 2:
        return "double(x) or int(x)"
    left = re.search(r"([\w.]+)\s*$", expression[:position])
    right = re.match(r"\s*([\w.]+)", expression[position + 1:])
    operand = left if kinds[0] == "int" else right
    if operand is None:
        return "double(x) or int(x)"
    return f"double({operand[1]})"


def _function_position(expression: str, name: str, fallback: int | None) -> int | None:
    match = re.search(rf"(?<!\w){re.escape(name)}\s*\(", expression)
    return match.start() if match else fallback


def _operator(function: str) -> str:
    symbols = {"_+_": "'+'", "_-_": "'-'", "_*_": "'*'", "_/_": "'/'", "_%_": "'%'",
               "_<_": "'<'", "_<=_": "'<='", "_>_": "'>'", "_>=_": "'>='", "@in": "'in'"}
    return f"operator {symbols[function]}" if function in symbols else f"function {function!r}"


_PRESENCE_TEST = re.compile(r"(?<![\w.])has\(\s*([A-Za-z_]\w*(?:\s*\.\s*[A-Za-z_]\w*)+)\s*\)")


def _presence_tests_as_true(expression: str, declared: set[str]) -> str:
    """`has(input.amount)` as `(true            )` (same length, so positions hold) where
    `input.amount` is a declared dotted name: cel-cpp's checker would otherwise resolve it
    as that variable and type the test as the field's type (int), not bool."""
    def blank(match: re.Match) -> str:
        if re.sub(r"\s+", "", match[1]) not in declared:
            return match[0]
        return "(true" + " " * (len(match[0]) - 6) + ")"
    return _PRESENCE_TEST.sub(blank, expression)


def compile_checked(expression: str, declarations: tuple) -> Any:
    """The checked program; raises CelError. Dotted declarations (`input.amount`, from
    sample data) type the fields they name for the checker."""
    known = tuple(name for name, _ in declarations)
    checked = expression
    if any("." in name for name in known):
        checked = _presence_tests_as_true(expression, set(known))
    try:
        program = environment(declarations).compile(checked)
        if checked != expression:  # the types hold; the program is the expression's own
            program = environment(tuple(d for d in declarations if "." not in d[0])).compile(
                expression)
        return program
    except Exception as exc:  # cel-cpp raises RuntimeError with its status text
        raise compile_error(expression, exc, known) from None


# --- Evaluating -----------------------------------------------------------------------------

def _runtime_error(text: str) -> CelError:
    text = re.sub(r" \[[A-Z_]+\]$", "", text.strip())
    text = re.sub(r"^[A-Z_]+: ", "", text)
    match = re.match(r'(?:Key not found in map|no such key)\s*:\s*"?([^"]*)"?', text)
    if match:
        return CelError(f"No such key: {match[1]!r}.")
    if "divide by zero" in text or "modulus by zero" in text:
        return CelError("Division by zero.")
    if "Iteration budget exceeded" in text:
        return CelError(f"The expression iterated more than {ITERATION_BUDGET:,} times "
                        "(the limit) in its map/filter/all/exists.")
    match = re.match(r"No matching overloads found : (\S+)\((.*)\)", text)
    if match:
        hint = (" Convert explicitly, e.g. double(x) or int(x)."
                if "int" in match[2] and "double" in match[2] else "")
        return CelError(f"No {_operator(match[1])} for ({match[2].replace('int64', 'int')})."
                        f"{hint}")
    return CelError(text[:1].upper() + text[1:] if text else "The expression failed.")


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
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return str(value)


def execute(program: Any, context: Mapping[str, Any]) -> Any:
    """Evaluate a checked program over plain JSON data; raises CelError."""
    try:
        result = program.eval(data=context)
    except MemoryError:
        raise
    except Exception as exc:  # a value the runtime cannot take, the iteration budget
        raise _runtime_error(str(exc)) from None
    if result.type() == cel.Type.ERROR:
        raise _runtime_error(str(result.value()))
    try:
        return to_json(result.plain_value())
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - an unknown value in the result
        raise CelError(f"The result cannot be read: {exc}") from None


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
        elif isinstance(item, list | tuple):
            total += 2 + len(item)
            stack.extend(item)
        elif isinstance(item, str | bytes | bytearray):
            total += len(item) + 2
        else:
            total += 8
        if total > limit:
            return total
    return total
