"""The transition tables of runs and node runs, and the only writes of a status.

Every status write goes through here (`run_move` / `node_move`: ``UPDATE ... WHERE
status IN (allowed from)``; the birth of a row: `run_born`, `node_run_born`) or through
`apps.runs.rows` (a step's writes, each move checked against these tables first; a
worker's claim, from the states named here), so a second delivery of the same work
cannot commit twice. tests/runs/test_status_writes.py fails when another module
writes a status.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from apps.runs.models import NodeRun, NodeStatus, Run, RunStatus

# --- The transition tables -------------------------------------------------------------

RUN_TRANSITIONS: dict[str, set[str]] = {
    RunStatus.QUEUED: {RunStatus.RUNNING, RunStatus.CANCELLED, RunStatus.FAILED},
    RunStatus.RUNNING: {RunStatus.WAITING, RunStatus.PAUSED, RunStatus.SUCCEEDED,
                        RunStatus.FAILED, RunStatus.CANCELLED},
    RunStatus.WAITING: {RunStatus.RUNNING, RunStatus.PAUSED, RunStatus.SUCCEEDED,
                        RunStatus.FAILED, RunStatus.CANCELLED},
    RunStatus.PAUSED: {RunStatus.RUNNING, RunStatus.WAITING, RunStatus.SUCCEEDED,
                       RunStatus.CANCELLED, RunStatus.FAILED},
    RunStatus.FAILED: {RunStatus.RUNNING},  # retry from the failed node
    RunStatus.SUCCEEDED: set(),
    RunStatus.CANCELLED: set(),
}

NODE_TRANSITIONS: dict[str, set[str]] = {
    NodeStatus.PENDING: {NodeStatus.QUEUED, NodeStatus.RUNNING, NodeStatus.SKIPPED,
                         NodeStatus.CANCELLED},
    NodeStatus.QUEUED: {NodeStatus.RUNNING, NodeStatus.PENDING, NodeStatus.CANCELLED},
    # running -> running: a redelivery after the worker died mid-node; running ->
    # queued: a claimed call that waits for a cap of its executor (HOLD_TO).
    NodeStatus.RUNNING: {NodeStatus.RUNNING, NodeStatus.SUCCEEDED, NodeStatus.FAILED,
                         NodeStatus.WAITING, NodeStatus.CANCELLED, NodeStatus.QUEUED},
    NodeStatus.WAITING: {NodeStatus.SUCCEEDED, NodeStatus.FAILED, NodeStatus.CANCELLED},
    NodeStatus.SUCCEEDED: set(),
    NodeStatus.FAILED: set(),
    NodeStatus.SKIPPED: set(),
    NodeStatus.CANCELLED: set(),
}

RUN_ACTIVE = (RunStatus.RUNNING, RunStatus.WAITING, RunStatus.PAUSED)
RUN_FINISHED = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)
NODE_OPEN = (NodeStatus.PENDING, NodeStatus.QUEUED, NodeStatus.RUNNING, NodeStatus.WAITING)

# A worker's claim (apps.runs.rows.node_run_claim) moves a node run to running: from
# queued (a message's delivery), or from running when its holder is gone (its lease
# lapsed or its heartbeat stopped: taken over), while its run is running or waiting.
CLAIM_TO = NodeStatus.RUNNING
CLAIM_FROM_QUEUED = NodeStatus.QUEUED
CLAIM_FROM_TAKEOVER = NodeStatus.RUNNING
CLAIM_FROM = (CLAIM_FROM_QUEUED, CLAIM_FROM_TAKEOVER)
CLAIM_RUN_STATUSES = (RunStatus.RUNNING, RunStatus.WAITING)

# The I/O executor holds a claimed node whose call waits for a cap (its host's, a rate
# limit) as queued, still its holder's and without a started time, then starts it when
# the call starts (apps.runs.rows.node_run_hold / node_run_held_start).
HOLD_FROM = NodeStatus.RUNNING
HOLD_TO = NodeStatus.QUEUED

# A held node whose turn under a rate limit is far off goes back to pending, due at
# that turn, no longer its holder's: the sweep sends it again then
# (apps.runs.rows.node_run_defer).
DEFER_FROM = NodeStatus.QUEUED
DEFER_TO = NodeStatus.PENDING


def allowed_from(table: dict[str, set[str]], to: str) -> list[str]:
    return [src for src, targets in table.items() if to in targets]


def run_move(run_id, to: str, **fields: Any) -> bool:
    """Compare-and-set a run's status; False when another writer got there first."""
    return Run.objects.filter(pk=run_id, status__in=allowed_from(RUN_TRANSITIONS, to)).update(
        status=to, **fields) == 1


def node_move(queryset, to: str, **fields: Any) -> int:
    return queryset.filter(status__in=allowed_from(NODE_TRANSITIONS, to)).update(
        status=to, **fields)


def node_status_after(path: Iterable[str]) -> str:
    """The status of a row that is inserted having already walked `path` in memory
    (e.g. pending -> running -> succeeded for an inline node); checks each hop."""
    steps = list(path)
    for src, dst in zip(steps, steps[1:], strict=False):
        if dst not in NODE_TRANSITIONS[src]:
            raise AssertionError(f"node status cannot move from {src} to {dst}")
    return steps[-1]



def run_born(**fields: Any) -> Run:
    """A run as it is created: queued (then written started by its first step, or saved
    queued until its workflow has a free slot)."""
    return Run(status=RunStatus.QUEUED, **fields)


def node_run_born(status: str, **fields: Any) -> NodeRun:
    """A node run as it is inserted by a step: pending, or where a path walked in
    memory ended (`node_status_after`)."""
    if status not in NODE_TRANSITIONS:
        raise AssertionError(f"no node status {status!r}")
    return NodeRun(status=status, **fields)
