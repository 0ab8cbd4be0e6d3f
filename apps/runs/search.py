"""The runs page's reading: filters, keyset pages, and payload search.

Payload search looks for a value inside a run's input or result (an order id, an
e-mail): `payload_terms` turns those payloads into their scalar values (strings also
word by word), case-folded and capped, stored with the run (`Run.search_terms`, a GIN
index). A search is an exact match of one such term, so it stays an index lookup at
millions of runs. Node outputs are not indexed.

Personal data (apps.privacy): a term that holds personal data is stored as its keyed
hash, and only a search by a holder of the `personal-data` permission asks for that
hash, so search never matches masked values for others.

Pages are keyset pages over (created_at, id), newest first: a page deep in the list
costs what the first costs, and runs that start meanwhile do not shift it.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import DateTimeField, ExpressionWrapper, F, Q, QuerySet

from apps.audit.personal import PersonalMasker
from apps.privacy.selectors import rows_masked, search_term_personal, search_terms_for
from apps.runs.models import Run

TERM_MAX = 200  # characters a term keeps (the column's width)
TERMS_MAX = 300  # terms a run keeps
DEPTH_MAX = 20
SEARCH_MAX = 200  # characters a search may have
_WORD = re.compile(r"[\w@.+-]+")


def _normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().strip()


def _leaves(value: Any, depth: int = 0) -> Iterator[str]:
    if depth > DEPTH_MAX:
        return
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item, depth + 1)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, (int, float)):
        yield str(value)
    elif isinstance(value, str):
        yield value


def payload_terms(*payloads: Any, masker: PersonalMasker | None = None) -> list[str]:
    """The search terms of these payloads: each scalar value whole, and each word of
    a string (so "Order 1234 from ann@example.com" is found by 1234 and by the
    address), case-folded, at most TERMS_MAX of them.

    With a `masker`, a value that holds personal data gives its terms as keyed hashes
    (see the module's notes), every word of it included: "Ann Example" is not found by
    "ann" either, nor a phone number by its last digits. The words around the personal
    data ("call" in "call +1 415 555 2671") stay plain."""
    terms: dict[str, None] = {}

    def add(found: Iterator[str]) -> bool:
        for term in found:
            terms.setdefault(term, None)
            if len(terms) >= TERMS_MAX:
                return False
        return True

    for payload in payloads:
        for leaf in _leaves(payload):
            text = _normal(leaf)
            if not text:
                continue
            if masker and masker.contains(text):
                rest = masker.text(text).replace(masker.mask_text, " ")
                more = add(search_term_personal(t) for t in _candidates(text)) and \
                    add(_candidates(rest, whole=False))
            else:
                more = add(_candidates(text))
            if not more:
                return list(terms)
    return list(terms)


def _candidates(text: str, *, whole: bool = True) -> Iterator[str]:
    """A value's terms: the value whole (when short enough), and, for a text of several
    words or a long one, each word."""
    if whole and len(text) <= TERM_MAX:
        yield text
    if not whole or " " in text or len(text) > TERM_MAX:
        for word in _WORD.findall(text[:4000]):
            word = word.strip(".")
            if word and len(word) <= TERM_MAX:
                yield word


def search_term(text: str) -> str:
    """What a person typed, as it is matched against the stored terms."""
    return _normal(text)


# --- Cursors ------------------------------------------------------------------------------

class BadCursor(ValueError):
    pass


def cursor_encode(run: Run) -> str:
    raw = f"{run.created_at.isoformat()}|{run.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_decode(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, _, pk = raw.partition("|")
        return datetime.fromisoformat(moment), uuid.UUID(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadCursor("Not a cursor this list gave out; start from the first page.") \
            from exc


# --- Pages ----------------------------------------------------------------------------------

PAGE_SIZE = 50
PAGE_MAX = 200


@dataclass
class RunPage:
    rows: list[Run]
    next_cursor: str | None


def run_filter(*, workflow=None, status: str | None = None, trigger: str | None = None,
               version: int | None = None, started_by: str | None = None,
               created_after=None, created_before=None, q: str | None = None,
               mode: str | None = None, parent: bool = False, user=None) -> QuerySet[Run]:
    """The runs that match every filter given. `started_by`: a user name, or
    "token:<name>" for runs started through an API token. Child runs (of sub-workflows
    and maps) are left out unless `parent` asks for them. `user`: who searches (a
    search matches personal data only for holders of the `personal-data` permission)."""
    qs = Run.objects.all()
    if not parent:
        qs = qs.filter(parent_run__isnull=True)
    if workflow:
        qs = qs.filter(workflow_id=workflow)
    if status:
        qs = qs.filter(status=status)
    if mode:
        qs = qs.filter(mode=mode)
    if trigger:
        qs = qs.filter(trigger=trigger)
    if version is not None:
        qs = qs.filter(version__number=version)
    if started_by:
        if started_by.startswith("token:"):
            qs = qs.filter(started_by_token__name=started_by.removeprefix("token:"))
        else:
            qs = qs.filter(Q(started_by__username=started_by))
    if created_after:
        qs = qs.filter(created_at__gte=created_after)
    if created_before:
        qs = qs.filter(created_at__lt=created_before)
    if q:
        # Sorted by an expression equal to created_at, not the column: PostgreSQL then
        # finds the few runs that hold the term through the GIN index and sorts them,
        # instead of walking the created_at index through a million runs for them.
        qs = qs.filter(search_terms__overlap=search_terms_for(search_term(q), user=user)) \
            .annotate(
            sort_at=ExpressionWrapper(F("created_at") + timedelta(0),
                                      output_field=DateTimeField()))
    return qs


def run_page(queryset: QuerySet[Run], *, cursor: str | None = None,
             limit: int = PAGE_SIZE) -> RunPage:
    """A page of `queryset`, newest first, after `cursor` (raises BadCursor)."""
    qs = queryset.select_related("workflow", "version", "started_by", "started_by_token") \
        .defer("input", "vars", "response", "search_terms", "workflow__graph",
               "version__graph")
    # A search sorts by `sort_at` (see run_filter), other lists by the column's index.
    newest = "-sort_at" if "sort_at" in queryset.query.annotations else "-created_at"
    qs = qs.order_by(newest, "-id")
    if cursor:
        moment, pk = cursor_decode(cursor)
        qs = qs.filter(Q(created_at__lt=moment) | Q(created_at=moment, id__lt=pk))
    limit = max(1, min(limit, PAGE_MAX))
    rows = list(qs[:limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return RunPage(rows=rows, next_cursor=cursor_encode(rows[-1]) if more and rows else None)


def duration_text(ms: int | None) -> str:
    if ms is None:
        return ""
    if ms < 1000:
        return f"{ms} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    minutes, seconds = divmod(ms // 1000, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    return f"{minutes // 60} h {minutes % 60} min"


def run_row(run: Run) -> dict[str, Any]:
    """One line of the runs page (and of GET /api/runs/)."""
    duration_ms = None
    if run.started_at and run.finished_at:
        duration_ms = int((run.finished_at - run.started_at).total_seconds() * 1000)
    if run.started_by_token_id:
        who = f"token {run.started_by_token.name}"
        if run.started_by_id:
            who = f"{run.started_by.username} ({who})"
    elif run.started_by_id:
        who = run.started_by.username
    else:
        who = run.trigger_ref or run.trigger
    error = run.error if isinstance(run.error, dict) else None
    return {"duration": duration_text(duration_ms),
        "id": str(run.pk), "short_id": str(run.pk)[:8],
        "workflow": str(run.workflow_id), "workflow_name": run.workflow.name,
        "workflow_deleted": run.workflow.deleted_at is not None,
        "version": run.version.number, "mode": run.mode, "status": run.status,
        "trigger": run.trigger,
        "started_by": who,
        "created_at": run.created_at, "started_at": run.started_at,
        "finished_at": run.finished_at, "duration_ms": duration_ms,
        "error": {"type": error.get("type", "error"), "message": error.get("message", ""),
                  "node_id": error.get("node_id")} if error else None,
    }


def run_rows(runs: list[Run], *, user) -> list[dict[str, Any]]:
    """The lines of a page of runs as `user` may see them (errors masked without the
    `personal-data` permission: an error may quote a personal value)."""
    return rows_masked([run_row(r) for r in runs], runs=[(r.pk, r.workflow_id) for r in runs],
                       user=user, fields=("error",))
