"""Personal data: found by the paths a workflow names and by detectors, masked where it
leaves (reads, logs, audit payloads, notifications, exports, search), never in the
stored run. The credential half of redaction lives in `apps.audit.redaction`; this
module is its personal-data half (pure: no models, no settings beyond the phone region).

- `PersonalPolicy`: the JSON paths that hold personal data (`input.customer.email`,
  `nodes.lookup.output.email`, `*` for any key or list item) and the detectors on
  (e-mail addresses, phone numbers via Google's libphonenumber, card numbers with a
  Luhn check).
- `PersonalMasker`: masks the values found at those paths (wherever they reappear) and
  whatever a detector finds, in strings and JSON documents. Returns copies.
- `personal_scope`: while a node of a run executes, its masker is in flight; log lines
  (`apps.audit.redaction.SecretLogFilter`) and audit payloads (`redact`) pass through it.
- `keyed_hash`: a stable keyed HMAC (pseudonyms, search terms of personal values,
  erased values in audit events)."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import phonenumbers

PERSONAL_MASK = "[personal data]"
ERASED = "[erased]"
MIN_VALUE_LENGTH = 3  # shorter known values are masked at their path only, not everywhere
MAX_DEPTH = 200
PATH_MAX = 300


class Detector(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    CARD = "card"


EMAIL_PATTERN = re.compile(
    r"(?<![\w.+-])[\w.%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}")
CARD_PATTERN = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d])")


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in CARD_PATTERN.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            spans.append(match.span())
    return spans


def _phone_spans(text: str, region: str) -> list[tuple[int, int]]:
    if sum(c.isdigit() for c in text) < 7:
        return []
    return [(m.start, m.end) for m in phonenumbers.PhoneNumberMatcher(
        text, region, leniency=phonenumbers.Leniency.VALID)]


# --- Policies ------------------------------------------------------------------------------

_SEGMENT = re.compile(r"^(\*|[\w$@ -]{1,100})$")


class BadPath(ValueError):
    pass


def path_parts(path: str) -> tuple[str, ...]:
    """`input.customer.email` -> ("input", "customer", "email"); raises BadPath."""
    if not isinstance(path, str) or not path.strip() or len(path) > PATH_MAX:
        raise BadPath("a path is a non-empty text of at most 300 characters")
    parts = tuple(part.strip() for part in path.strip().removeprefix("$.").split("."))
    if parts[0] not in ("input", "nodes"):
        raise BadPath(f"{path!r}: a path starts with input. (the run's input) or "
                      "nodes.<node id>. (a node's output)")
    if parts[0] == "nodes" and (len(parts) < 3 or parts[1] == "*"):
        raise BadPath(f"{path!r}: write nodes.<node id>.output.<field> or "
                      "nodes.<node id>.outputs.<port>.<field>")
    if len(parts) < 2 or not all(_SEGMENT.match(part) for part in parts):
        raise BadPath(f"{path!r}: each part is a key, a list index or *")
    return parts


@dataclass(frozen=True)
class PersonalPolicy:
    paths: tuple[str, ...] = ()
    detectors: frozenset[Detector] = frozenset()
    parts: tuple[tuple[str, ...], ...] = field(default=(), compare=False)

    @classmethod
    def build(cls, *, paths: Iterable[str] = (), detectors: Iterable[str] = ()) -> PersonalPolicy:
        paths = tuple(dict.fromkeys(paths))
        return cls(paths=paths, detectors=frozenset(Detector(d) for d in detectors),
                   parts=tuple(path_parts(p) for p in paths))

    def __bool__(self) -> bool:
        return bool(self.paths or self.detectors)

    def input_paths(self) -> list[tuple[str, ...]]:
        return [parts[1:] for parts in self.parts if parts[0] == "input"]

    def node_paths(self, node_id: str) -> list[tuple[str, ...]]:
        """Paths into a node run's `outputs` ({port: value}): `output.x` applies to
        every port (over-masking is the safe side), `outputs.<port>.x` to one."""
        found = []
        for parts in self.parts:
            if parts[0] != "nodes" or parts[1] not in (node_id, "*"):
                continue
            rest = parts[2:]
            if rest[0] == "output":
                found.append(("*", *rest[1:]))
            elif rest[0] == "outputs" and len(rest) >= 2:
                found.append(rest[1:])
            else:
                found.append(("*", *rest))
        return found


NO_POLICY = PersonalPolicy()


def _children(value: Any, part: str) -> Iterator[tuple[Any, Any]]:
    """(container, key) pairs that `part` selects in `value` (lists: each item, or
    the index named)."""
    if isinstance(value, Mapping):
        keys = list(value) if part == "*" else ([part] if part in value else [])
        for key in keys:
            yield value, key
    elif isinstance(value, list):
        if part == "*":
            yield from ((value, i) for i in range(len(value)))
        elif part.isdigit() and int(part) < len(value):
            yield value, int(part)
        else:  # a key applied to a list applies to each item
            for item in value:
                yield from _children(item, part)


def _leaves(value: Any, depth: int = 0) -> Iterator[Any]:
    if depth > MAX_DEPTH:
        return
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _leaves(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item, depth + 1)
    elif value is not None and not isinstance(value, bool):
        yield value


def values_at(document: Any, parts: Iterable[str]) -> list[Any]:
    """The scalar values at (and under) a path in `document`."""
    current = [(None, None, document)]
    for part in parts:
        current = [(c, k, c[k]) for _, _, v in current for c, k in _children(v, part)]
    return [leaf for _, _, v in current for leaf in _leaves(v)]


def replace_at(document: Any, parts: tuple[str, ...] | list[str],
               replace: Callable[[Any], Any]) -> Any:
    """A copy of `document` with what a path selects (`*`: any key or list item; a key
    applied to a list applies to each item) replaced by `replace(value)`."""
    if not parts:
        return replace(document)
    head, rest = parts[0], tuple(parts[1:])
    if isinstance(document, Mapping):
        return {k: (replace_at(v, rest, replace) if head in ("*", k) else v)
                for k, v in document.items()}
    if isinstance(document, list):
        if head.isdigit():
            return [replace_at(v, rest, replace) if i == int(head) else v
                    for i, v in enumerate(document)]
        inner = rest if head == "*" else tuple(parts)
        return [replace_at(v, inner, replace) for v in document]
    return document


# --- Masking --------------------------------------------------------------------------------

class PersonalMasker:
    """Masks known personal values (found at a policy's paths) and what the policy's
    detectors find. Returns copies; never mutates."""

    def __init__(self, policy: PersonalPolicy = NO_POLICY, values: Iterable[Any] = (), *,
                 region: str = "US", mask: str = PERSONAL_MASK) -> None:
        self.policy = policy
        self.region = region
        self.mask_text = mask
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(values)

    def add(self, values: Iterable[Any]) -> None:
        for value in values:
            text = str(value).strip()
            if len(text) >= MIN_VALUE_LENGTH:
                self._values.add(text)
        ordered = sorted(self._values, key=lambda v: (-len(v), v))
        self._pattern = (re.compile("|".join(map(re.escape, ordered)), re.IGNORECASE)
                         if ordered else None)

    @property
    def values(self) -> frozenset[str]:
        return frozenset(self._values)

    def __bool__(self) -> bool:
        return bool(self._pattern is not None or self.policy.detectors)

    def text(self, value: str) -> str:
        if self._pattern is not None:
            value = self._pattern.sub(self.mask_text, value)
        detectors = self.policy.detectors
        if not detectors:
            return value
        if Detector.EMAIL in detectors:
            value = EMAIL_PATTERN.sub(self.mask_text, value)
        spans = []
        if Detector.CARD in detectors:
            spans += _card_spans(value)
        if Detector.PHONE in detectors:
            spans += [s for s in _phone_spans(value, self.region)
                      if not any(a <= s[0] < b for a, b in spans)]
        for start, end in sorted(spans, reverse=True):
            value = value[:start] + self.mask_text + value[end:]
        return value

    def scalar(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            text = str(value)
            return self.mask_text if self.text(text) != text else value
        return value

    def mask(self, data: Any, *, paths: Iterable[tuple[str, ...]] = ()) -> Any:
        """`data` with known values and detected data masked; and, where `paths` are
        given (paths into `data` itself), whatever they hold, however short."""
        def masked(value: Any) -> Any:
            return self.mask_text if value not in (None, "") else value

        for parts in paths:
            data = replace_at(data, parts, masked)
        if not self:
            return data
        return self._mask(data, 0)

    def _mask(self, value: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            return value
        if isinstance(value, Mapping):
            return {k: self._mask(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._mask(v, depth + 1) for v in value]
        return self.scalar(value)

    def contains(self, text: str) -> bool:
        return self.text(text) != text


def run_masker(policy: PersonalPolicy, *, run_input: Any,
               node_outputs: Mapping[str, Any] | None = None, region: str = "US",
               mask: str = PERSONAL_MASK) -> PersonalMasker:
    """The masker of one run: the values at the policy's paths in its input and in its
    nodes' outputs ({node id: {port: value}}), plus the policy's detectors."""
    values: list[Any] = []
    if policy:
        for parts in policy.input_paths():
            values += values_at(run_input, parts)
        for node_id, outputs in (node_outputs or {}).items():
            for parts in policy.node_paths(node_id):
                values += values_at(outputs, parts)
    return PersonalMasker(policy, values, region=region, mask=mask)


# --- In flight: logs and audit payloads written while a run's node executes ------------------

_in_flight: ContextVar[PersonalMasker | None] = ContextVar("weft_personal_in_flight",
                                                          default=None)


@contextmanager
def personal_scope(masker: PersonalMasker | None) -> Iterator[None]:
    token = _in_flight.set(masker if masker else None)
    try:
        yield
    finally:
        _in_flight.reset(token)


def personal_in_flight() -> PersonalMasker | None:
    return _in_flight.get()


def mask_in_flight(data: Any) -> Any:
    masker = _in_flight.get()
    return masker.mask(data) if masker else data


# --- Keyed hashes ---------------------------------------------------------------------------

def keyed_hash(value: Any, *, key: bytes, purpose: str = "pseudonym") -> str:
    """A stable keyed HMAC-SHA256 of `value` (hex); `purpose` separates the uses, so a
    pseudonym cannot be matched against a search term or an audit record."""
    text = value if isinstance(value, str) else str(value)
    return hmac.new(key, f"{purpose}\x00{text}".encode(), hashlib.sha256).hexdigest()
