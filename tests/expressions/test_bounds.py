"""Expressions are bounded while they run, whatever their text (the hostile ones in
tests/expressions/hostile.py passed the old text scan)."""

import threading
import time

import pytest

from apps.expressions.core import ExpressionError, Limits, check, evaluate
from tests.expressions.hostile import HOSTILE, MEMORY, balanced_sum


class Ticker:
    """A thread that wakes every 5 ms: its longest gap shows whether the GIL was free."""

    def __init__(self) -> None:
        self.gaps: list[float] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        last = time.perf_counter()
        while not self.stop.wait(0.005):
            now = time.perf_counter()
            self.gaps.append(now - last)
            last = now

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


@pytest.mark.parametrize("kind", ["memory", "time", "nesting"])
def test_hostile_expressions_stop_at_a_limit_and_leave_the_process_free(kind):
    expression, data = HOSTILE[kind]
    started = time.monotonic()
    with Ticker() as ticker:
        try:
            # memory: time enough to reach the memory limit first, even on a loaded machine
            seconds = 10 if kind == "memory" else 0.5
            result = evaluate(expression, {"input": data}, limits=Limits(max_seconds=seconds))
        except ExpressionError as exc:
            result = exc
    elapsed = time.monotonic() - started
    assert elapsed < 20  # liveness bound; the tight figures are in bench/RESULTS.md
    assert max(ticker.gaps, default=0) < 1.0  # other threads kept running
    if kind == "memory":
        assert result.limit == "memory"
        assert "256 MB (the memory limit)" in result.message
    elif kind == "time":
        assert result.limit == "time"
    else:
        assert isinstance(result, ExpressionError)


def test_time_limit_names_itself():
    expression, data = HOSTILE["time"]
    data = {"input": data}
    with pytest.raises(ExpressionError, match=r"longer than 0.2 s \(the time limit\)") as info:
        evaluate(expression, data, limits=Limits(max_seconds=0.2))
    assert info.value.limit == "time"


def test_the_iteration_budget_and_the_parse_depth_are_limits():
    with pytest.raises(ExpressionError, match="10,000 times") as info:
        evaluate("input.l.all(x, x >= 0)", {"input": {"l": list(range(20_000))}})
    assert info.value.limit == "iterations"
    assert "deeper than 32" in check("[" * 1990 + "1" + "]" * 1990).message


def test_literal_bombs_are_reported_at_check():
    error = check(MEMORY)
    assert error.limit == "memory"
    body = balanced_sum("a", 64)
    assert check(f"size(['{'x' * 100}'].map(a, [{body}].map(b, b + b)))") is None


def test_a_sandboxed_result_is_capped_like_an_inline_one():
    data = {"input": {"s": "x" * 400_000}}
    with pytest.raises(ExpressionError, match="larger than") as info:
        evaluate("input.s + input.s + input.s", data)
    assert info.value.limit == "size"


def test_typical_expressions_stay_in_process():
    from apps.expressions import sandbox

    before = sandbox.pool.count
    data = {"input": {"items": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 0}], "n": 3}}
    for expression in ("input.n > 0 && input.items[0].qty == 2", "input.items[0].sku + '!'",
                       "input.items.filter(i, i.qty > 0).map(i, i.sku)"):
        evaluate(expression, data)
    assert sandbox.pool.count == before
