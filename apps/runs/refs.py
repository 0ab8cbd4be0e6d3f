"""References to large values, and why data can never pose as one.

A port value too large to travel stays in PostgreSQL: rows are read *lean*
(`apps.runs.rows.lean_sql`), with such a value replaced by a small reference
{REF_KEY: {"node_run": pk, "field": "outputs"|"inputs", "port": name}}; a big map's
result is stored as {REF_KEY: {"map": pk, "count": n}} (its item rows, in order). A
node that reads such a value as data gets it materialised just before it executes.

The engine alone writes references. Data from outside (a run's input, whatever a node
returns) is *escaped* on its way in: every object key of the form `$weft_...`, with
one or more `$`, gains one more `$` (`escape`). So stored data never holds the key
REF_KEY, the marker cannot be forged, and on every way out (what nodes and expressions
read, API reads, webhook answers) one `$` is taken off again (`unescape`): the caller
gets its own data back unchanged. Both walks are skipped when a scan of the value's
JSON text (C speed) shows no such key.

A leaf module: it imports only models and the inbound checks.
"""

from __future__ import annotations

import re
from typing import Any

from apps.core.inbound import JsonProblem, dumps_quick, max_depth, suspect, walk_problem
from apps.runs.models import MapItem, NodeRun

REF_KEY = "$weft_ref"
_ESCAPABLE = re.compile(r"^\$+weft_")
_ESCAPED = re.compile(r"^\$\$+weft_")
# In a value's JSON text: a string that starts like such a key (a key, or a value,
# which only costs the walk)
_ESCAPABLE_TEXT = re.compile(r'"\$+weft_')
_ESCAPED_TEXT = re.compile(r'"\$\$+weft_')


def is_ref(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and REF_KEY in value


def map_ref(node_run_id: int, count: int) -> dict[str, Any]:
    return {REF_KEY: {"map": node_run_id, "count": count}}


def map_ref_owner(value: Any) -> int | None:
    """The map node run whose items `value` refers to, when it is such a reference."""
    if is_ref(value) and isinstance(value[REF_KEY], dict) and "map" in value[REF_KEY]:
        return int(value[REF_KEY]["map"])
    return None


def map_ref_count(value: Any) -> int | None:
    if map_ref_owner(value) is None:
        return None
    count = value[REF_KEY].get("count")
    return count if isinstance(count, int) else None


# --- Escaping: the ways in and out -------------------------------------------------------

def _rename(value: Any, pattern: re.Pattern, change) -> Any:
    if isinstance(value, dict):
        return {(change(k) if isinstance(k, str) and pattern.match(k) else k):
                _rename(v, pattern, change) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rename(v, pattern, change) for v in value]
    return value


def escape(value: Any, *, text: str | None = None) -> Any:
    """Data from outside as it is stored: `$weft_` keys gain one `$`. `text`, the
    value's JSON from `dumps_quick`, when the caller already has it."""
    if not isinstance(value, dict | list | tuple):
        return value
    text = dumps_quick(value) if text is None else text
    if text is not None and _ESCAPABLE_TEXT.search(text) is None:
        return value
    return _rename(value, _ESCAPABLE, lambda k: "$" + k)


def unescape(value: Any) -> Any:
    """Stored data as it leaves the engine: `$$weft_` keys lose one `$` (a reference
    the engine wrote, with one `$`, is left as it is)."""
    if not isinstance(value, dict | list | tuple):
        return value
    text = dumps_quick(value)
    if text is not None and _ESCAPED_TEXT.search(text) is None:
        return value
    return _rename(value, _ESCAPED, lambda k: k[1:])


def admit(value: Any, *, root: str) -> Any:
    """A value from outside, checked (NUL, lone surrogates, depth, non-JSON types:
    JsonProblem naming its path) and escaped, with one scan of its JSON text."""
    if not isinstance(value, dict | list | tuple | str | float):
        return value
    text = dumps_quick(value)
    if suspect(text, max_depth()):
        problem = walk_problem(value, root=root, depth=max_depth())
        if problem is not None:
            raise problem
    return escape(value, text=text) if isinstance(value, dict | list | tuple) else value


# --- Materialising ---------------------------------------------------------------------

def materialise(value: Any) -> Any:
    """The data behind a reference, read in full (only for nodes that need it as data),
    in stored form: the caller unescapes it where it leaves the engine."""
    for _ in range(8):  # a reference may point at a stored reference
        if not is_ref(value):
            return value
        ref = value[REF_KEY]
        if "map" in ref:
            return list(MapItem.objects.filter(node_run_id=ref["map"]).order_by("index")
                        .values_list("output", flat=True).iterator(chunk_size=2000))
        stored = NodeRun.objects.filter(pk=ref["node_run"]).values_list(
            ref["field"], flat=True).first() or {}
        value = stored.get(ref["port"])
    return value


def has_refs(ports: dict[str, Any] | None) -> bool:
    return bool(ports) and any(is_ref(v) or (isinstance(v, list) and any(map(is_ref, v)))
                               for v in ports.values())


def materialise_ports(ports: dict[str, Any] | None) -> dict[str, Any] | None:
    if not has_refs(ports):
        return ports
    return {port: [materialise(v) for v in value] if isinstance(value, list)
            and any(map(is_ref, value)) else materialise(value)
            for port, value in ports.items()}


__all__ = ["REF_KEY", "JsonProblem", "admit", "escape", "has_refs", "is_ref", "map_ref",
           "map_ref_count", "map_ref_owner", "materialise", "materialise_ports", "unescape"]
