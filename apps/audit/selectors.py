"""Everything that reads the audit log for a caller: filters, keyset pages, export batches."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL

from apps.audit.models import AuditEvent

# Must stay the expression of the GIN index audit_event_data_search (migration 0001).
SEARCH_SQL = ("jsonb_to_tsvector('simple'::regconfig, data, '[\"string\", \"numeric\"]'::jsonb) "
              "@@ websearch_to_tsquery('simple', %s)")
PAGE_SIZE = 50
MAX_PAGE_SIZE = 500

# Known action names, offered as suggestions in filters (others are valid too).
KNOWN_ACTIONS = (
    "audit.export", "audit.verify", "auth.lockout_clear", "auth.login", "auth.login_failed",
    "auth.logout",
    "token.create", "token.revoke", "user.create", "user.deactivate", "user.reactivate",
    "user.roles_change", "workflow.create", "workflow.delete", "workflow.export",
    "workflow.import", "workflow.publish", "workflow.restore", "workflow.update",
)


@dataclass
class EventFilter:
    """The filters of the console and the API. `action` ending in '.' or '.*'
    matches a prefix ("workflow." = every workflow action). `actor` is a username
    (matches that person whether in a session or through a token) or an actor label."""

    actor: str = ""
    actor_type: str = ""
    action: str = ""
    target_type: str = ""
    target_id: str = ""
    request_id: str = ""
    run_id: str = ""
    since: datetime | None = None
    until: datetime | None = None
    q: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not any((self.actor, self.actor_type, self.action, self.target_type,
                        self.target_id, self.request_id, self.run_id, self.since,
                        self.until, self.q))

    def as_dict(self) -> dict[str, str]:
        values = {"actor": self.actor, "actor_type": self.actor_type, "action": self.action,
                  "target_type": self.target_type, "target_id": self.target_id,
                  "request_id": self.request_id, "run_id": self.run_id, "q": self.q,
                  "since": self.since.isoformat() if self.since else "",
                  "until": self.until.isoformat() if self.until else ""}
        return {k: v for k, v in values.items() if v}


def event_queryset(*, filters: EventFilter) -> QuerySet[AuditEvent]:
    qs = AuditEvent.objects.all()
    f = filters
    if f.actor:
        user_id = (get_user_model().objects.filter(username=f.actor)
                   .values_list("pk", flat=True).first())
        qs = qs.filter(Q(user_id=user_id) if user_id is not None else Q(actor_label=f.actor))
    if f.actor_type:
        qs = qs.filter(actor_type=f.actor_type)
    if f.action:
        if f.action.endswith((".", ".*")):
            qs = qs.filter(action__startswith=f.action.rstrip("*"))
        else:
            qs = qs.filter(action=f.action)
    if f.target_type:
        qs = qs.filter(target_type=f.target_type)
    if f.target_id:
        qs = qs.filter(target_id=f.target_id)
    if f.request_id:
        qs = qs.filter(request_id=f.request_id)
    if f.run_id:
        qs = qs.filter(run_id=f.run_id)
    if f.since:
        first = _first_seq_at_or_after(f.since)
        qs = qs.filter(seq__gte=first) if first is not None else qs.none()
    if f.until:
        first = _first_seq_at_or_after(f.until)
        if first is not None:
            qs = qs.filter(seq__lt=first)
    if f.q:
        qs = qs.filter(RawSQL(SEARCH_SQL, [f.q], output_field=BooleanField()))
    return qs


def _first_seq_at_or_after(when: datetime) -> int | None:
    """Event times never decrease along seq, so the events at or after `when` are
    exactly those from this seq on: one probe of the (at, seq) index."""
    return (AuditEvent.objects.filter(at__gte=when).order_by("at", "seq")
            .values_list("seq", flat=True).first())


@dataclass
class Page:
    events: list[AuditEvent]
    newer: int | None  # pass as ?after= for the newer page
    older: int | None  # pass as ?before= for the older page


def event_page(*, filters: EventFilter, before: int | None = None, after: int | None = None,
               size: int = PAGE_SIZE) -> Page:
    """Newest first, keyset-paginated on seq: `before` gives the older page that
    starts below that seq, `after` the newer page above it."""
    size = max(1, min(size, MAX_PAGE_SIZE))
    qs = event_queryset(filters=filters)
    if after is not None:
        rows = list(qs.filter(seq__gt=after).order_by("seq")[:size + 1])
        events = list(reversed(rows[:size]))
        newer = events[0].seq if len(rows) > size else None
        older = (events[-1].seq if events and qs.filter(seq__lt=events[-1].seq).exists()
                 else None)
        return Page(events, newer, older)
    qs_page = qs.filter(seq__lt=before) if before is not None else qs
    rows = list(qs_page.order_by("-seq")[:size + 1])
    events = rows[:size]
    older = events[-1].seq if len(rows) > size else None
    newer = None
    if before is not None and events and qs.filter(seq__gt=events[0].seq).exists():
        newer = events[0].seq
    return Page(events, newer, older)


def event_iter(*, filters: EventFilter, batch_size: int = 2000) -> Iterator[AuditEvent]:
    """Every matching event, oldest first, read in keyset batches (constant memory)."""
    qs = event_queryset(filters=filters).order_by("seq")
    last = 0
    while True:
        batch = list(qs.filter(seq__gt=last)[:batch_size])
        yield from batch
        if len(batch) < batch_size:
            return
        last = batch[-1].seq


def event_get(*, seq: int) -> AuditEvent:
    return AuditEvent.objects.get(seq=seq)


def last_verification() -> AuditEvent | None:
    return AuditEvent.objects.filter(action="audit.verify").order_by("-seq").first()
