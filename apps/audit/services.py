"""Everything that writes the audit log. `audit_record` is the one way in.

Appends are serialised by a transaction-scoped advisory lock: the next event
takes the sequence number and hash of the last one, so numbers are gapless
(a rolled-back transaction takes its event with it) and the chain is linear.
Call `audit_record` at the end of your transaction: the lock is held until it commits.

A busy path records with `audit_record_later` instead (every model call a node makes,
in the transaction that settles the node): the event is inserted into a pending table
without the lock, committing or rolling back with its transaction as before, and
`audit_pending_chain` moves pending events onto the chain in batches, one lock a batch
(DECISIONS: the audit chain must not serialise throughput). It runs right after the
commit, on a thread of the committing process (apps.audit.chainer), and on a schedule
for any a process left behind when it died."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from apps.audit import chain
from apps.audit.actors import ANONYMOUS, MODEL, SYSTEM, TOKEN, USER, Actor, Target
from apps.audit.context import current_request_var
from apps.audit.models import AuditEvent
from apps.audit.personal import mask_in_flight
from apps.audit.redaction import redact
from apps.core.context import request_id_var, run_id_var

logger = logging.getLogger("weft.audit")

# Any constant shared by every process that appends: pg_advisory_xact_lock(key).
CHAIN_LOCK_KEY = 0x57EF7A0D17
COLUMNS = ("seq", "at", "actor_type", "actor_id", "actor_label", "user_id", "action",
           "target_type", "target_id", "target_label", "request_id", "run_id", "data",
           "prev_hash", "hash")
ACTION_MAX = 100

__all__ = ["Actor", "Target", "audit_record", "audit_record_later", "audit_record_many",
           "audit_pending_chain", "EventSpec",
           "ANONYMOUS", "MODEL", "SYSTEM", "TOKEN", "USER"]


@dataclass
class EventSpec:
    """One event for the bulk path, with the same meaning as audit_record's arguments."""

    action: str
    actor: Any = None
    target: Any = None
    data: dict[str, Any] | None = None
    request: Any = None
    run_id: str | None = None
    request_id: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)  # resolved columns, filled below


def _clip(value: Any, length: int) -> str:
    return "" if value is None else str(value)[:length]


def _request_token(request) -> Any:
    from apps.accounts.models import ApiToken

    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, ApiToken) else None


def _actor_fields(actor: Any, request: Any) -> dict[str, Any]:
    from apps.accounts.models import ApiToken

    if actor is None and request is not None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            actor = user
    if actor is None:
        return {"actor_type": SYSTEM, "actor_id": "weft", "actor_label": "weft",
                "user_id": None}
    if isinstance(actor, Actor):
        return {"actor_type": actor.type, "actor_id": _clip(actor.id, 128),
                "actor_label": _clip(actor.label, 200), "user_id": actor.user_id}
    if isinstance(actor, get_user_model()):
        token = _request_token(request) if request is not None else None
        if token is not None and token.user_id == actor.pk:
            actor = token  # the same person, acting through an API token
        else:
            return {"actor_type": USER, "actor_id": str(actor.pk),
                    "actor_label": _clip(actor.get_username(), 200), "user_id": actor.pk}
    if isinstance(actor, ApiToken):
        return {"actor_type": TOKEN, "actor_id": str(actor.pk),
                "actor_label": _clip(f"{actor.user.get_username()} · token {actor.name} "
                                     f"({actor.prefix}…)", 200),
                "user_id": actor.user_id}
    raise TypeError(f"audit actor must be a user, an API token or an Actor, not {actor!r}")


def _target_fields(target: Any) -> dict[str, str]:
    if target is None:
        return {"target_type": "", "target_id": "", "target_label": ""}
    # A label may quote personal data (a task's title): masked as the payload is.
    if isinstance(target, Target):
        return {"target_type": _clip(target.type, 64), "target_id": _clip(target.id, 128),
                "target_label": _clip(mask_in_flight(str(target.label)), 300)}
    if isinstance(target, Model):
        return {"target_type": target._meta.model_name, "target_id": _clip(target.pk, 128),
                "target_label": _clip(mask_in_flight(str(target)), 300)}
    raise TypeError(f"audit target must be a model instance or a Target, not {target!r}")


def _resolve(spec: EventSpec) -> dict[str, Any]:
    if not spec.action or len(spec.action) > ACTION_MAX or " " in spec.action:
        raise ValueError(f"audit action must be a dotted name like 'workflow.publish', "
                         f"not {spec.action!r}")
    request = spec.request if spec.request is not None else current_request_var.get()
    request_id = spec.request_id
    if request_id is None:
        request_id = getattr(request, "request_id", "") or request_id_var.get()
    run_id = spec.run_id if spec.run_id is not None else run_id_var.get()
    return {
        "action": spec.action,
        **_actor_fields(spec.actor, request),
        **_target_fields(spec.target),
        "request_id": _clip(request_id, 64),
        "run_id": _clip(run_id, 64),
        "data": redact(spec.data or {}, settings.WEFT_AUDIT_REDACT_FIELDS),
    }


def _chain_head(cursor) -> tuple[int, str, datetime | None]:
    """Lock the chain; the last event's seq, hash and time."""
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
    cursor.execute("SELECT seq, hash, at FROM audit_event ORDER BY seq DESC LIMIT 1")
    row = cursor.fetchone()
    return (row[0], row[1], row[2]) if row else (0, chain.GENESIS, None)


def _now_after(last_at: datetime | None) -> datetime:
    """Event times never go backwards along the chain, even when the clock does:
    time-range filters then become seq ranges (selectors._seq_bounds)."""
    now = timezone.now()
    return last_at if last_at is not None and last_at > now else now


def _link(resolved: dict[str, Any], seq: int, prev_hash: str, at) -> dict[str, Any]:
    row = {**resolved, "seq": seq, "at": at, "prev_hash": prev_hash}
    row["hash"] = chain.event_hash(prev_hash, chain.content_of(row))
    return row


def audit_record(*, action: str, actor: Any = None, target: Any = None,
                 data: dict[str, Any] | None = None, request: Any = None,
                 run_id: str | None = None, request_id: str | None = None) -> AuditEvent:
    """Record one action in the audit log and return the stored event.

    action:  a stable dotted name, `<domain>.<verb>`: "workflow.publish", "run.cancel".
    actor:   a User, an ApiToken, or an Actor (Actor.system("engine"),
             Actor.model("classifier", 3)). When omitted: the request's user (or its
             API token), else the system.
    target:  a model instance, or Target(type, id, label).
    data:    a JSON-able dict; secrets and WEFT_AUDIT_REDACT_FIELDS are redacted.
    request: the HttpRequest/DRF request; defaults to the one being served.
    run_id / request_id: default to the current context (apps.core.context).
    """
    resolved = _resolve(EventSpec(action=action, actor=actor, target=target, data=data,
                                  request=request, run_id=run_id, request_id=request_id))
    # Inside a caller's transaction it is part of it (no savepoint): the event commits
    # or rolls back with the action it records.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        seq, prev_hash, last_at = _chain_head(cursor)
        row = _link(resolved, seq + 1, prev_hash, _now_after(last_at))
        cursor.execute(_INSERT_SQL, _column_values(row))
    return AuditEvent(**row)


def audit_record_later(*, action: str, actor: Any = None, target: Any = None,
                       data: dict[str, Any] | None = None, run_id: str | None = None) -> None:
    """Record one action as `audit_record` does, but onto the chain in a moment, with
    others, instead of under the chain's lock now: for paths that record on every run
    (a node's model call). The event commits or rolls back with the caller's transaction;
    its time is now (later along the chain only if the chain's last event is later)."""
    from apps.audit import chainer
    from apps.core.db import prepared_cursor

    resolved = _resolve(EventSpec(action=action, actor=actor, target=target, data=data,
                                  run_id=run_id))
    with prepared_cursor() as cursor:
        cursor.execute(_PENDING_SQL, [timezone.now(), json.dumps(resolved, ensure_ascii=False)])
    transaction.on_commit(functools.partial(chainer.chain_soon, audit_pending_chain))


_PENDING_SQL = "INSERT INTO audit_pending (at, event) VALUES (%s, %s::jsonb)"
_TAKE_PENDING_SQL = ("DELETE FROM audit_pending WHERE id IN (SELECT id FROM audit_pending "
                     "ORDER BY id LIMIT %s) RETURNING id, at, event::text")


def audit_pending_chain(*, batch_size: int = 5000) -> int:
    """Move the committed events of `audit_record_later` onto the chain, oldest first, a
    transaction (one lock) per `batch_size` events. Returns how many it moved. Takes no
    lock when nothing is pending."""
    moved = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT EXISTS (SELECT 1 FROM audit_pending)")
            if not cursor.fetchone()[0]:
                return moved
            seq, prev_hash, at = _chain_head(cursor)
            cursor.execute(_TAKE_PENDING_SQL, [batch_size])
            taken = sorted(cursor.fetchall())
            _copy_onto_chain(cursor, _never_backwards(taken, at), seq, prev_hash)
        moved += len(taken)
        if len(taken) < batch_size:
            return moved


def _never_backwards(taken, at: datetime | None) -> Iterator[tuple[dict[str, Any], datetime]]:
    """Pending events (id, time, JSON) with the times they take on the chain: their own,
    or the chain's last time when that is later."""
    for _pk, pending_at, event in taken:
        at = pending_at if at is None or pending_at > at else at
        yield json.loads(event), at


def _copy_onto_chain(cursor, events: Iterable[tuple[dict[str, Any], datetime]], seq: int,
                     prev_hash: str) -> tuple[int, str]:
    """Link resolved events (each with its time) after `seq`/`prev_hash` and write them
    in one COPY, under the chain's lock the caller holds. The new head's seq and hash."""
    with cursor.cursor.copy(f"COPY audit_event ({', '.join(COLUMNS)}) FROM STDIN") as copy:
        for resolved, at in events:
            seq += 1
            row = _link(resolved, seq, prev_hash, at)
            prev_hash = row["hash"]
            copy.write_row(_column_values(row))
    return seq, prev_hash


_INSERT_SQL = (f"INSERT INTO audit_event ({', '.join(COLUMNS)}) "
               f"VALUES ({', '.join(['%s'] * len(COLUMNS))})")


def _column_values(row: dict[str, Any]) -> list[Any]:
    """A linked event's values in COLUMNS order, its data as JSON text."""
    return [json.dumps(row[name], ensure_ascii=False) if name == "data" else row[name]
            for name in COLUMNS]


def audit_record_many(events: Iterable[EventSpec], *, batch_size: int = 5000) -> int:
    """The bulk path: append many events in one transaction (one lock, COPY).
    Returns how many were recorded. Used by imports and the benchmark."""
    resolved = [_resolve(spec) for spec in events]
    if not resolved:
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        seq, prev_hash, last_at = _chain_head(cursor)
        at = _now_after(last_at)
        for start in range(0, len(resolved), batch_size):
            seq, prev_hash = _copy_onto_chain(
                cursor, ((item, at) for item in resolved[start:start + batch_size]),
                seq, prev_hash)
    return len(resolved)


def audit_chain_verify_and_record(*, actor: Any = None, request: Any = None):
    """Verify the whole chain and record the outcome as an `audit.verify` event.
    Returns (VerifyResult, the recorded event)."""
    from apps.audit.verification import chain_verify

    audit_pending_chain()  # what committed so far is verified too
    result = chain_verify()
    data = {"ok": result.ok, "count": result.count, "last_seq": result.last_seq,
            "last_hash": result.last_hash, "seconds": round(result.seconds, 3)}
    if result.failure is not None:
        data["failure"] = {"seq": result.failure.seq, "kind": result.failure.kind,
                           "detail": result.failure.detail}
        logger.error("audit chain broken", extra={"audit_failure": data["failure"]})
    if actor is None and request is None and current_request_var.get() is None:
        actor = Actor.system("scheduler")
    event = audit_record(action="audit.verify", actor=actor, request=request, data=data)
    return result, event
