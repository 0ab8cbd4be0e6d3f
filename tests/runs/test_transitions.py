"""The transition tables (apps.runs.services.transitions), checked as data."""

from __future__ import annotations

from apps.runs.models import NodeStatus, RunStatus
from apps.runs.services.transitions import (
    CLAIM_FROM,
    CLAIM_RUN_STATUSES,
    CLAIM_TO,
    NODE_OPEN,
    NODE_TRANSITIONS,
    RUN_ACTIVE,
    RUN_FINISHED,
    RUN_TRANSITIONS,
    allowed_from,
)

NODE_FINISHED = (NodeStatus.SUCCEEDED, NodeStatus.FAILED, NodeStatus.SKIPPED,
                 NodeStatus.CANCELLED)


def test_every_status_has_its_row_and_moves_only_to_statuses():
    assert set(RUN_TRANSITIONS) == set(RunStatus.values)
    assert set(NODE_TRANSITIONS) == set(NodeStatus.values)
    assert set().union(*RUN_TRANSITIONS.values()) <= set(RunStatus.values)
    assert set().union(*NODE_TRANSITIONS.values()) <= set(NodeStatus.values)


def test_nothing_moves_out_of_a_finished_status_but_a_retry_of_a_failed_run():
    assert {status: RUN_TRANSITIONS[status] for status in RUN_FINISHED} == {
        RunStatus.SUCCEEDED: set(), RunStatus.CANCELLED: set(),
        RunStatus.FAILED: {RunStatus.RUNNING}}  # run_retry: from its failed nodes
    assert all(NODE_TRANSITIONS[status] == set() for status in NODE_FINISHED)


def test_open_and_active_are_the_statuses_that_can_still_move():
    assert set(NODE_OPEN) == {s for s, targets in NODE_TRANSITIONS.items() if targets}
    assert set(RUN_ACTIVE) | {RunStatus.QUEUED} | {RunStatus.FAILED} == {
        s for s, targets in RUN_TRANSITIONS.items() if targets}
    assert set(RUN_ACTIVE).isdisjoint(RUN_FINISHED)


def test_the_claim_moves_only_along_the_table():
    assert set(CLAIM_FROM) <= set(allowed_from(NODE_TRANSITIONS, CLAIM_TO))
    assert set(CLAIM_RUN_STATUSES) <= set(RUN_ACTIVE)
