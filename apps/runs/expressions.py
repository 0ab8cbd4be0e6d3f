"""A minimal CEL wrapper for the engine's nodes until `apps.expressions` (the
expressions service) lands; `node_services()` prefers that one when it exists.
Nothing here reaches Python's eval/exec: `cel` parses and evaluates CEL only."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import cel

MAX_EXPRESSION_LENGTH = 4000


class ExpressionError(ValueError):
    pass


@lru_cache(maxsize=1024)
def _compiled(expression: str):
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"The expression is longer than {MAX_EXPRESSION_LENGTH} "
                              "characters.")
    try:
        return cel.compile(expression)
    except (ValueError, RuntimeError) as exc:
        raise ExpressionError(str(exc).splitlines()[0]) from exc


def check(expression: str) -> str | None:
    """None when the expression parses, else the parser's message."""
    try:
        _compiled(expression)
    except ExpressionError as exc:
        return str(exc)
    return None


def evaluate(expression: str, data: dict[str, Any]) -> Any:
    program = _compiled(expression)
    try:
        return program.execute(data)
    except (ValueError, RuntimeError, TypeError, KeyError) as exc:
        raise ExpressionError(str(exc).splitlines()[0] if str(exc) else repr(exc)) from exc
