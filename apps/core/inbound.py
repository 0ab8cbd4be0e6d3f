"""What every way into Weft checks before data from outside is kept: request bodies
read whole and bounded (also without a Content-Length), and JSON that PostgreSQL can
store and Weft can walk: no NUL characters or lone surrogates (in keys or values), no
NaN or Infinity, at most WEFT_JSON_MAX_DEPTH levels of nesting.

One module for every front: the API's parser (`apps.core.parsers`), the query-string
check (`apps.core.middleware`), both webhook fronts, and the engine's settling of a
node's outputs. A problem is reported with the JSON path where it lies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

_SURROGATE = re.compile("[\ud800-\udfff]")
# One encoder for the scans (json.dumps with options builds a new one per call).
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, check_circular=False,
                            separators=(",", ":"))


def max_depth() -> int:
    return settings.WEFT_JSON_MAX_DEPTH


# --- Request bodies -----------------------------------------------------------------------

class BodyRefused(Exception):
    """A request body that is refused: `status` (400, 411, 413), `code`, `detail`."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def too_large(limit: int) -> BodyRefused:
    return BodyRefused(413, "too_large", f"The body is over the limit of {limit} bytes.")


class BodyReader:
    """A request body gathered chunk by chunk, whether or not its length was declared
    (a chunked body has none): refused with 413 as soon as it passes `limit` bytes,
    before the rest is read."""

    def __init__(self, *, limit: int, declared: str | None = None) -> None:
        self.limit = limit
        self.chunks: list[bytes] = []
        self.size = 0
        try:
            length = int(declared) if declared else None
        except ValueError:
            raise BodyRefused(400, "bad_content_length",
                              f"Content-Length {declared!r} is not a number.") from None
        if length is not None and (length < 0 or length > limit):
            raise too_large(limit) if length > limit else BodyRefused(
                400, "bad_content_length", f"Content-Length {declared!r} is negative.")

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            raise too_large(self.limit)
        if chunk:
            self.chunks.append(chunk)

    def body(self) -> bytes:
        return b"".join(self.chunks)


def read_body(read: Callable[[int], bytes], *, limit: int, declared: str | None) -> bytes:
    """A whole body from a blocking `read(n)` (a Django request, a file), bounded."""
    reader = BodyReader(limit=limit, declared=declared)
    while True:
        chunk = read(64 * 1024)
        if not chunk:
            return reader.body()
        reader.feed(chunk)


# --- JSON ---------------------------------------------------------------------------------

@dataclass
class JsonProblem(ValueError):
    """Why a JSON value cannot be kept, and where (`path`, e.g. `body.items[3].name`)."""

    path: str
    message: str
    code: str = "invalid_json"

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def text_problem(text: str) -> str | None:
    """Why a string cannot be stored (PostgreSQL's text and jsonb refuse both)."""
    if "\x00" in text:
        return "contains a NUL character (\\u0000)"
    match = _SURROGATE.search(text)
    if match:
        return f"contains a lone surrogate (\\u{ord(match.group()):04x}), which is not text"
    return None


def clean_text(text: str) -> str:
    """`text` made storable for messages (never for data, which is refused instead):
    NUL written as \\u0000, a lone surrogate as U+FFFD."""
    if not isinstance(text, str) or text_problem(text) is None:
        return text
    return _SURROGATE.sub("\ufffd", text.replace("\x00", "\\u0000"))


def dumps_quick(value: Any) -> str | None:
    """`value` as JSON text, for fast scans (C speed): None when it is not plain JSON
    (a type JSON lacks, NaN, a cycle, nesting past the interpreter's limit)."""
    try:
        return _ENCODER.encode(value)
    except (TypeError, ValueError, RecursionError, OverflowError):
        return None


def suspect(text: str | None, depth: int) -> bool:
    """Whether the JSON text of a value may hold a problem (false positives only cost
    the exact walk): not plain JSON, an escaped NUL, a surrogate, or more brackets
    than the depth allows."""
    return (text is None or "\\u0000" in text or _SURROGATE.search(text) is not None
            or text.count("{") + text.count("[") > depth)


def _key(path: str, key: Any) -> str:
    if isinstance(key, str) and re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$]*", key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key, ensure_ascii=True)}]"


def walk_problem(value: Any, *, root: str, depth: int) -> JsonProblem | None:
    """The first problem in `value`, walking it (without recursion)."""
    stack: list[tuple[Any, str, int]] = [(value, root, 0)]
    while stack:
        item, path, level = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                return JsonProblem(path, f"the string {problem}", "invalid_text")
        elif isinstance(item, bool) or item is None or isinstance(item, int):
            continue
        elif isinstance(item, float):
            if item != item or item in (float("inf"), float("-inf")):
                return JsonProblem(path, f"{item} is not a JSON number", "invalid_number")
        elif isinstance(item, dict | list | tuple):
            if level >= depth:
                return JsonProblem(path, f"nested more than {depth} levels deep", "too_deep")
            if isinstance(item, dict):
                for key, child in item.items():
                    if isinstance(key, str):
                        problem = text_problem(key)
                        if problem:
                            return JsonProblem(_key(path, key), f"the key {problem}",
                                               "invalid_text")
                    elif not isinstance(key, int | float | bool) and key is not None:
                        return JsonProblem(path, f"a key of type {type(key).__name__} is "
                                           "not JSON", "invalid_type")
                    stack.append((child, _key(path, key), level + 1))
            else:
                for index in range(len(item) - 1, -1, -1):
                    stack.append((item[index], f"{path}[{index}]", level + 1))
        else:
            return JsonProblem(path, f"a value of type {type(item).__name__} is not JSON",
                               "invalid_type")
    return None


def json_problem(value: Any, *, root: str = "body", text: str | None = None
                 ) -> JsonProblem | None:
    """The first reason `value` cannot be kept, or None: a fast scan of its JSON text
    and, only when that finds something suspect, the exact walk."""
    depth = max_depth()
    if not isinstance(value, dict | list | tuple | str | float):
        return walk_problem(value, root=root, depth=depth)
    if text is None:
        text = dumps_quick(value)
    if not suspect(text, depth):
        return None
    return walk_problem(value, root=root, depth=depth)


def check_json(value: Any, *, root: str = "body") -> Any:
    """`value` unchanged, or JsonProblem raised."""
    problem = json_problem(value, root=root)
    if problem is not None:
        raise problem
    return value


def loads(body: bytes | str, *, root: str = "body") -> Any:
    """Parse JSON from outside: a JsonProblem for text that is not JSON, nested too
    deep (refused before the interpreter's own limit turns it into a crash), or holding
    what cannot be stored."""
    try:
        value = json.loads(body)
    except RecursionError:
        raise JsonProblem(root, f"nested more than {max_depth()} levels deep",
                          "too_deep") from None
    except UnicodeDecodeError as exc:
        raise JsonProblem(root, f"is not UTF-8 text: {exc.reason} at byte {exc.start}",
                          "malformed_json") from None
    except ValueError as exc:
        raise JsonProblem(root, f"is not JSON: {exc}", "malformed_json") from None
    return check_json(value, root=root)
