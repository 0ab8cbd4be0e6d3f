"""The transition tables of runs and node runs, and the compare-and-set moves.

Every status write goes through here (`run_move` / `node_move`: ``UPDATE ... WHERE
status IN (allowed from)``) or through `apps.runs.rows` (a step's writes, checked
against these tables first), so a second delivery of the same work cannot commit twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from apps.runs.models import NodeStatus, Run, RunStatus

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
    # running -> running: a redelivery after the worker died mid-node.
    NodeStatus.RUNNING: {NodeStatus.RUNNING, NodeStatus.SUCCEEDED, NodeStatus.FAILED,
                         NodeStatus.WAITING, NodeStatus.CANCELLED},
    NodeStatus.WAITING: {NodeStatus.SUCCEEDED, NodeStatus.FAILED, NodeStatus.CANCELLED},
    NodeStatus.SUCCEEDED: set(),
    NodeStatus.FAILED: set(),
    NodeStatus.SKIPPED: set(),
    NodeStatus.CANCELLED: set(),
}

RUN_ACTIVE = (RunStatus.RUNNING, RunStatus.WAITING, RunStatus.PAUSED)
RUN_FINISHED = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)
NODE_OPEN = (NodeStatus.PENDING, NodeStatus.QUEUED, NodeStatus.RUNNING, NodeStatus.WAITING)


def allowed_from(table: dict[str, set[str]], to: str) -> list[str]:
    return [src for src, targets in table.items() if to in targets]


def run_move(run_id, to: str, **fields: Any) -> bool:
    """Compare-and-set a run's status; False when another writer got there first."""
    return Run.objects.filter(pk=run_id, status__in=allowed_from(RUN_TRANSITIONS, to)).update(
        status=to, **fields) == 1


def node_move(queryset, to: str, **fields: Any) -> int:
    return queryset.filter(status__in=allowed_from(NODE_TRANSITIONS, to)).update(status=to, **fields)


def node_status_after(path: Iterable[str]) -> str:
    """The status of a row that is inserted having already walked `path` in memory
    (e.g. pending -> running -> succeeded for an inline node); checks each hop."""
    steps = list(path)
    for src, dst in zip(steps, steps[1:], strict=False):
        if dst not in NODE_TRANSITIONS[src]:
            raise AssertionError(f"node status cannot move from {src} to {dst}")
    return steps[-1]
