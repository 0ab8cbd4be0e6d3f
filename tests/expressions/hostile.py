"""Hostile expressions of each kind, shared by the tests that run them anywhere.

Each is valid CEL that passed today's text scan before evaluation was bounded."""

from __future__ import annotations


def balanced_sum(name: str, count: int) -> str:
    """`((a+a)+(a+a))...`: `count` copies of `name` added, nested only log2(count) deep."""
    terms = [name] * count
    while len(terms) > 1:
        terms = [f"({terms[i]}+{terms[i + 1]})" if i + 1 < len(terms) else terms[i]
                 for i in range(0, len(terms), 2)]
    return terms[0]


# Memory: a 1,000-character string multiplied by 64 three times over (about 262 GB if let
# run), through comprehensions the old scan counted as one item each.
MEMORY = (f"size(input.words.map(a, [{balanced_sum('a', 64)}].map(b, "
          f"[{balanced_sum('b', 64)}].map(c, {balanced_sum('c', 64)}))))")
MEMORY_DATA = {"words": ["x" * 1000]}

# Time: 8,100 iterations, each scanning 600 KB with a regular expression, over data the
# old scan sized at 90 items (under its 5,000,000 steps).
TIME = "input.l.all(a, input.l.all(b, !input.s.matches('x*y')))"
TIME_DATA = {"l": list(range(90)), "s": "x" * 600_000}

# Nesting: the old scan read everything after a raw string r'\' as part of that string, so
# these maps, 22 deep over two items (4 million results), were invisible to it.
NESTING = "r'\\' + string(size(" + "[1, 2].map(x, " * 22 + "x" + ")" * 22 + "))"

HOSTILE = {"memory": (MEMORY, MEMORY_DATA), "time": (TIME, TIME_DATA),
           "nesting": (NESTING, {})}
