"""A claimed node whose call waits for a cap of the I/O executor (its host's in-flight
cap, a rate limit) shows as queued while it waits, and as running from when its call
starts: the executor holds it (queued, still its holder's, its lease renewed) and
starts it when the call goes out. One whose turn under a rate limit is far off waits
in the database instead (`node_run_defer`)."""

from __future__ import annotations

from django.conf import settings

from apps.runs import events, rows
from apps.runs.models import NodeStatus
from apps.runs.services.workers import Claimed


def node_run_hold(*, claimed: Claimed) -> bool:
    """Queued again until its call starts; False when it is no longer this holder's."""
    held = rows.node_run_hold(claimed.row.pk, holder=claimed.holder)
    if held:
        _announce(claimed, NodeStatus.QUEUED)
    return held


def node_run_held_start(*, claimed: Claimed) -> bool:
    """Its call starts now: running, its started time now (PostgreSQL's clock); False
    when it is no longer this holder's (cancelled, or taken by another delivery)."""
    started = rows.node_run_held_start(claimed.row.pk, holder=claimed.holder,
                                       lease_s=settings.WEFT_NODE_LEASE_S)
    if started is None:
        return False
    claimed.row.status, claimed.row.started_at = NodeStatus.RUNNING, started
    _announce(claimed, NodeStatus.RUNNING)
    return True


def node_run_defer(*, claimed: Claimed, delay_s: float) -> bool:
    """A held node's turn under a rate limit is `delay_s` away: pending until then (the
    sweep sends it again), no longer this holder's; False when it is no longer its."""
    due = rows.node_run_defer(claimed.row.pk, holder=claimed.holder, delay_s=delay_s)
    if due is None:
        return False
    claimed.row.status, claimed.row.due_at = NodeStatus.PENDING, due
    _announce(claimed, NodeStatus.PENDING)
    return True


def _announce(claimed: Claimed, status: str) -> None:
    row = claimed.row
    events.publish_run(str(row.run_id), [{"event": "node", "run_id": str(row.run_id),
                                          "node_id": row.node_id, "status": status,
                                          "attempt": row.attempt}])
