"""A sound upper bound on what one evaluation can cost, read from the checked AST.

Not a scan of the text: the tree is the one cel-cpp parsed and checked (decoded from
its serialized `cel.expr.CheckedExpr`, macros already expanded into comprehensions),
and every node is bounded from its children, with the sizes of the actual data it
reads. The bound decides only *where* an evaluation runs: in-process when it is
small (the hot path of inline pure nodes), else in the sandbox subprocess whose
limits are enforced by the operating system while it runs (apps.expressions.sandbox).

Rules (sizes in bytes of JSON-like text, costs in bytes touched plus a constant per
node): a variable or a field/index of data is as large as the data there; `+` creates
the sum of its operands; list and map literals the sum of their entries; other
functions of the standard library create at most the sum of their arguments plus a
small constant (none of them repeats its input); a comprehension runs at most
min(elements, 10,000) iterations (cel-cpp's budget), its accumulator grows by at
most what one step adds (a step that more than copies the accumulator is unbounded),
and its cost is iterations times the body's. The result: the largest value created
and the total cost.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from apps.expressions.environment import ITERATION_BUDGET, json_size

UNBOUNDED = 1 << 62
NODE_COST = 16  # per node visit: the interpreter's own constant work, in cost units
SMALL = 32  # size of a number, bool, timestamp, duration or type


# --- Protobuf wire format, just enough for cel.expr.Expr ---------------------------------

def _varint(data: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, i
        shift += 7


def _fields(data: bytes) -> list[tuple[int, int, Any]]:
    out = []
    i, n = 0, len(data)
    while i < n:
        key, i = _varint(data, i)
        number, kind = key >> 3, key & 7
        if kind == 0:
            value, i = _varint(data, i)
        elif kind == 1:
            value, i = data[i:i + 8], i + 8
        elif kind == 2:
            length, i = _varint(data, i)
            value, i = data[i:i + length], i + length
        elif kind == 5:
            value, i = data[i:i + 4], i + 4
        else:
            raise ValueError(f"unsupported wire type {kind}")
        out.append((number, kind, value))
    return out


@dataclass
class Node:
    kind: str  # const, ident, select, call, list, struct, comprehension
    name: str = ""  # ident name, select field, call function
    const: Any = None
    children: tuple[Node, ...] = ()
    target: Node | None = None  # call target
    # comprehension parts
    iter_var: str = ""
    iter_var2: str = ""
    accu_var: str = ""
    test_only: bool = False


def _const(data: bytes) -> Any:
    for number, _kind, value in _fields(data):
        if number == 1:
            return None
        if number == 2:
            return bool(value)
        if number in (3, 4):
            return value
        if number == 5:
            return struct.unpack("<d", value)[0]
        if number == 6:
            return value.decode("utf-8", "replace")
        if number == 7:
            return bytes(value)
    return None


def decode_expr(data: bytes) -> Node:
    for number, _kind, value in _fields(data):
        if number == 3:
            return Node("const", const=_const(value))
        if number == 4:
            name = next((v.decode() for f, _k, v in _fields(value) if f == 1), "")
            return Node("ident", name=name)
        if number == 5:
            operand, field, test_only = None, "", False
            for f, _k, v in _fields(value):
                if f == 1:
                    operand = decode_expr(v)
                elif f == 2:
                    field = v.decode()
                elif f == 3:
                    test_only = bool(v)
            return Node("select", name=field, children=(operand,) if operand else (),
                        test_only=test_only)
        if number == 6:
            target, function, args = None, "", []
            for f, _k, v in _fields(value):
                if f == 1:
                    target = decode_expr(v)
                elif f == 2:
                    function = v.decode()
                elif f == 3:
                    args.append(decode_expr(v))
            return Node("call", name=function, children=tuple(args), target=target)
        if number == 7:
            return Node("list", children=tuple(decode_expr(v) for f, _k, v in _fields(value)
                                               if f == 1))
        if number == 8:
            parts = []
            for f, _k, entry in _fields(value):
                if f != 2:
                    continue
                for g, _k2, v in _fields(entry):
                    if g in (3, 4):
                        parts.append(decode_expr(v))
            return Node("struct", children=tuple(parts))
        if number == 9:
            names = {1: "", 3: "", 8: ""}
            parts: dict[int, Node] = {}
            for f, _k, v in _fields(value):
                if f in names:
                    names[f] = v.decode()
                elif f in (2, 4, 5, 6, 7):
                    parts[f] = decode_expr(v)
            empty = Node("const", const=None)
            return Node("comprehension", iter_var=names[1], accu_var=names[3],
                        iter_var2=names[8],
                        children=tuple(parts.get(f, empty) for f in (2, 4, 5, 6, 7)))
    return Node("const", const=None)


def decode_checked(serialized: bytes) -> Node:
    """The root Expr of a serialized checked expression (an Any of cel.expr.CheckedExpr)."""
    payload = serialized
    fields = _fields(payload)
    if fields and fields[0][0] == 1 and fields[0][2].startswith(b"type.googleapis.com/"):
        payload = next(v for f, _k, v in fields if f == 2)
    expr = next(v for f, _k, v in _fields(payload) if f == 4)
    return decode_expr(expr)


# --- The bound ---------------------------------------------------------------------------

@dataclass
class Bound:
    size: int  # largest size of the value this node gives
    cost: int  # total work of evaluating it
    created: int  # largest value created anywhere inside it
    value: Any = None  # the data itself, when this node reads data directly
    known: bool = False  # whether `value` is the data
    items: int = UNBOUNDED  # most elements, when it is a list or map


def _add(*numbers: int) -> int:
    return min(sum(numbers), UNBOUNDED)


def _mul(a: int, b: int) -> int:
    return min(a * b, UNBOUNDED)


SMALL_RESULT = {  # functions whose result is a number, bool, timestamp, duration or type
    "_==_", "_!=_", "_<_", "_<=_", "_>_", "_>=_", "@in", "!_", "_&&_", "_||_",
    "@not_strictly_false", "size", "int", "uint", "double", "bool", "type", "timestamp",
    "duration", "matches", "contains", "startsWith", "endsWith", "_-_", "_*_", "_/_", "_%_",
    "-_", "getFullYear", "getMonth", "getDayOfYear", "getDayOfMonth", "getDate",
    "getDayOfWeek", "getHours", "getMinutes", "getSeconds", "getMilliseconds", "has",
}


class _Estimator:
    def __init__(self, data: dict[str, Any], cap: int, unknown: int = SMALL) -> None:
        self.data = data
        self.cap = cap  # sizes are measured up to here; beyond, they count as cap + 1
        self.unknown = unknown  # the size of a variable not in `data`

    def measure(self, value: Any) -> int:
        return min(json_size(value, self.cap), self.cap + 1)

    def bound(self, node: Node, scope: dict[str, Bound]) -> Bound:
        kind = node.kind
        if kind == "const":
            value = node.const
            size = len(value) + 2 if isinstance(value, str | bytes) else SMALL
            return Bound(size, NODE_COST, 0)
        if kind == "ident":
            if node.name in scope:
                inner = scope[node.name]
                return Bound(inner.size, NODE_COST, 0, inner.value, inner.known)
            if node.name in self.data:
                value = self.data[node.name]
                return Bound(self.measure(value), NODE_COST, 0, value, True)
            return Bound(self.unknown, NODE_COST, 0)
        if kind == "select":
            operand = self.bound(node.children[0], scope)
            cost = _add(operand.cost, NODE_COST)
            if node.test_only:
                return Bound(SMALL, cost, operand.created)
            if operand.known and isinstance(operand.value, dict):
                value = operand.value.get(node.name)
                return Bound(self.measure(value), cost, operand.created, value, True)
            return Bound(operand.size, cost, operand.created)
        if kind in ("list", "struct"):
            parts = [self.bound(child, scope) for child in node.children]
            size = _add(2, *(p.size + 1 for p in parts))
            return Bound(size, _add(NODE_COST, size, *(p.cost for p in parts)),
                         max([size, *(p.created for p in parts)]), items=len(parts))
        if kind == "call":
            return self._call(node, scope)
        if kind == "comprehension":
            return self._comprehension(node, scope)
        return Bound(UNBOUNDED, UNBOUNDED, UNBOUNDED)

    def _call(self, node: Node, scope: dict[str, Bound]) -> Bound:
        args = [self.bound(child, scope) for child in
                ((node.target,) if node.target else ()) + node.children]
        sizes = [a.size for a in args]
        inner_cost = _add(NODE_COST, *(a.cost for a in args))
        inner_created = max([0, *(a.created for a in args)])
        name = node.name
        if name == "_[_]" and len(args) == 2:
            container, key = args
            if container.known and key.known is False and node.children[1].kind == "const":
                index = node.children[1].const
                value = None
                if isinstance(container.value, dict):
                    value = container.value.get(index)
                elif isinstance(container.value, list) and isinstance(index, int) and (
                        -1 < index < len(container.value)):
                    value = container.value[index]
                return Bound(self.measure(value), _add(inner_cost, SMALL), inner_created,
                             value, True)
            return Bound(container.size, _add(inner_cost, SMALL), inner_created)
        if name == "_?_:_" and len(args) == 3:
            return Bound(max(sizes[1], sizes[2]), inner_cost, inner_created)
        if name in ("_&&_", "_||_"):
            return Bound(SMALL, inner_cost, inner_created)
        if name in ("matches", "contains", "startsWith", "endsWith"):
            work = _mul(max(sizes[0], 1), max(sizes[-1], 1)) if len(sizes) > 1 else sizes[0]
            return Bound(SMALL, _add(inner_cost, work), inner_created)
        if name in SMALL_RESULT:
            return Bound(SMALL, _add(inner_cost, *sizes), inner_created)
        # `+` (concatenation or arithmetic), string(), bytes(), dyn() and the rest of the
        # standard library: at most the sum of the arguments, plus a constant.
        size = _add(SMALL, *sizes)
        return Bound(size, _add(inner_cost, size), max(inner_created, size))

    def _comprehension(self, node: Node, scope: dict[str, Bound]) -> Bound:
        iter_range, accu_init, condition, step, result = node.children
        source = self.bound(iter_range, scope)
        init = self.bound(accu_init, scope)
        if source.known and isinstance(source.value, list | dict):
            count = len(source.value)
        else:
            count = min(source.items, source.size)
        count = min(count, ITERATION_BUDGET)
        element_size = source.size
        if source.known and isinstance(source.value, list) and len(source.value) <= 1000:
            element_size = max([self.measure(item) for item in source.value] or [0])
        element = Bound(element_size, 0, 0)
        inner = dict(scope)
        inner[node.iter_var] = element
        if node.iter_var2:
            inner[node.iter_var2] = element
        # How much one step adds to the accumulator: compare two accumulator sizes.
        probe = 1 << 20
        inner[node.accu_var] = Bound(init.size, 0, 0)
        low = self.bound(step, inner)
        inner[node.accu_var] = Bound(init.size + probe, 0, 0)
        high = self.bound(step, inner)
        if high.size - low.size > probe:  # a step that more than copies the accumulator
            return Bound(UNBOUNDED, UNBOUNDED, UNBOUNDED)
        growth = max(low.size - init.size, 0) if high.size - low.size == probe else max(
            low.size, init.size)
        final = _add(init.size, _mul(count, growth)) if high.size - low.size == probe else (
            max(init.size, growth))
        if self._appends(step, node.accu_var, only=node.iter_var):  # filter: a subset
            final = min(final, _add(init.size, source.size, count))
        inner[node.accu_var] = Bound(final, 0, 0)
        each = self.bound(step, inner)
        check = self.bound(condition, inner)
        done = self.bound(result, inner)
        # Appending to the accumulator (`accu + [x]`) does not copy it in cel-cpp; count
        # the accumulator once per iteration anyway only when a step reads it otherwise.
        step_cost = _add(each.cost, check.cost) - (final if self._appends(step, node.accu_var)
                                                  else 0)
        cost = _add(source.cost, init.cost, done.cost, _mul(count, max(step_cost, NODE_COST)))
        created = max(source.created, init.created, each.created if not self._appends(
            step, node.accu_var) else each.created - final, final, done.created)
        appends = self._appends(step, node.accu_var)
        return Bound(done.size, cost, min(created, UNBOUNDED), items=count if appends else
                     UNBOUNDED)

    @staticmethod
    def _appends(step: Node, accu: str, only: str = "") -> bool:
        """A step of the form `accu + [...]` or `cond ? accu + [...] : accu` (map, filter)."""
        if step.kind == "call" and step.name == "_?_:_" and len(step.children) == 3:
            step = step.children[1]
        return (step.kind == "call" and step.name == "_+_" and len(step.children) == 2
                and step.children[0].kind == "ident" and step.children[0].name == accu
                and step.children[1].kind == "list"
                and (not only or (len(step.children[1].children) == 1
                                  and step.children[1].children[0].kind == "ident"
                                  and step.children[1].children[0].name == only)))


def estimate(tree: Node, data: dict[str, Any], *, cap: int, unknown: int = SMALL) -> Bound:
    """The bound of evaluating `tree` over `data` (sizes measured up to `cap`); a variable
    that `data` lacks counts as a value of size `unknown`."""
    return _Estimator(data, cap, unknown).bound(tree, {})


TIERS = (256, 1024, 4096, 16384, 65536, 262144)


def inline_tier(tree: Node, *, max_value: int, max_cost: int) -> int:
    """The largest data size (from TIERS, 0 if none) for which `tree` stays within
    `max_value` and `max_cost` whatever the data: every variable it reads at most that
    large. Bounds only grow with the sizes of the variables, so at evaluation one capped
    measure per variable decides, without walking the tree again."""
    best = 0
    for tier in TIERS:
        bound = estimate(tree, {}, cap=max_value, unknown=tier)
        if bound.created > max_value or bound.cost > max_cost:
            break
        best = tier
    return best
