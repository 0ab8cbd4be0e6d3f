"""Expression evaluation: per-call latency of typical expressions, and hostile ones.

    .venv/bin/python bench/expressions.py [--calls 5000]

Typical expressions (the ones inline pure nodes run on the hot path) are timed call
after call through Weft's `evaluate` (in-process path), cel-cpp directly
(`cel-expr-python`), the same expression forced through the sandbox subprocess, and,
when they are importable in the interpreter that runs this script, the Rust interpreter
`common-expression-language` (`import cel`, what Weft used before) with Weft's previous
`core.py` around it (from git: main), and `cel-python` (celpy, pure Python). Hostile
expressions (tests/expressions/hostile.py) are timed through Weft's `evaluate`, with
the longest pause they cause to another thread of the same process (a thread that
wakes every 5 ms): that pause is what a web process's other requests would wait.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from apps.expressions.core import ExpressionError, Limits, evaluate  # noqa: E402
from apps.expressions.environment import dyn_declarations, environment  # noqa: E402
from tests.expressions.hostile import HOSTILE  # noqa: E402

CALLS = int(sys.argv[sys.argv.index("--calls") + 1]) if "--calls" in sys.argv else 5000
DATA = {
    "input": {"seen": True, "order": 3, "name": "Ann",
              "items": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 0}]},
    "nodes": {"classify": {"output": {"label": "invoice", "score": 0.93}}},
    "run": {"id": "r1", "input": {"customer": "acme"}}, "vars": {"threshold": 0.8},
}
TYPICAL = ["true", "input.seen && input.order > 0", "input.name + '!'",
           "nodes.classify.output.score >= vars.threshold",
           "input.items.filter(i, i.qty > 0).map(i, i.sku)"]


def fmt(figures):
    return f"{figures[0]:.1f} / {figures[1]:.1f}"


def timed(fn, calls):
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    samples.sort()
    return samples[len(samples) // 2] * 1e6, samples[int(len(samples) * 0.99)] * 1e6


def old_core():
    """Weft's previous core.py (text scan + Rust interpreter), when `cel` is importable."""
    try:
        import cel  # noqa: F401
    except ImportError:
        return None
    source = subprocess.run(["git", "show", "main:apps/expressions/core.py"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout
    module = types.ModuleType("old_core")
    sys.modules["old_core"] = module
    exec(compile(source, "old_core.py", "exec"), module.__dict__)  # noqa: S102 - our own file
    return module


def typical():
    env = environment(dyn_declarations())
    old = old_core()
    try:
        import celpy
    except ImportError:
        celpy = None
    forced = Limits(inline_cost=0)
    evaluate("true", DATA, limits=forced)  # start the sandbox worker
    print(f"\n== Typical expressions, {CALLS} calls each: p50 / p99 in microseconds")
    header = "| expression | Weft evaluate | cel-cpp direct | sandbox (forced) |"
    if old:
        header += " before: Rust cel + old core |"
    if celpy:
        header += " celpy |"
    print(header)
    for expression in TYPICAL:
        context = {name: DATA[name] for name in DATA if name in expression}
        program = env.compile(expression)
        row = [f"`{expression}`",
               fmt(timed(lambda: evaluate(expression, DATA), CALLS)),  # noqa: B023
               fmt(timed(lambda: program.eval(data=context).plain_value(),  # noqa: B023
                                     CALLS)),
               fmt(timed(lambda: evaluate(expression, DATA, limits=forced),  # noqa: B023
                                     max(CALLS // 10, 50)))]
        if old:
            row.append(fmt(timed(lambda: old.evaluate(expression, DATA), CALLS)))  # noqa: B023
        if celpy:
            cenv = celpy.Environment()
            prg = cenv.program(cenv.compile(expression))
            row.append(fmt(timed(
                lambda: prg.evaluate({k: celpy.json_to_cel(v) for k, v in context.items()}),  # noqa: B023
                max(CALLS // 10, 50))))
        print("| " + " | ".join(row) + " |")
    return old


def hostile(old):
    print("\n== Hostile expressions (tests/expressions/hostile.py)")
    print("| kind | engine | result | elapsed | longest pause of another thread |")
    runs = [("Weft evaluate", evaluate)]
    if old and "--with-old" in sys.argv:
        runs.append(("before: Rust cel + old core", old.evaluate))
    for kind, (expression, data) in HOSTILE.items():
        for label, fn in runs:
            gaps, stop = [], threading.Event()

            def tick(gaps=gaps, stop=stop):
                last = time.perf_counter()
                while not stop.wait(0.005):
                    now = time.perf_counter()
                    gaps.append(now - last)
                    last = now

            thread = threading.Thread(target=tick)
            thread.start()
            started = time.perf_counter()
            try:
                result = repr(fn(expression, {"input": data}))[:40]
            except (ExpressionError, ValueError) as exc:
                result = f"error: {getattr(exc, 'message', str(exc))[:70]}"
            elapsed = time.perf_counter() - started
            stop.set()
            thread.join()
            print(f"| {kind} | {label} | {result} | {elapsed:.2f} s | "
                  f"{max(gaps, default=0) * 1000:.0f} ms |")


if __name__ == "__main__":
    old = typical()
    hostile(old)
