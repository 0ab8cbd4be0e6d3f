"""The step: an in-memory view of one run, read under its lock and written in one
statement (`apps.runs.services.advance`). Its rows change status here, each move
checked against the transition tables; nothing is written until the step is."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from apps.core.context import run_id_var, trace_id_var
from apps.privacy.selectors import masker_for, policy_get
from apps.runs import refs, rows
from apps.runs.models import NodeRun, NodeStatus, Run, RunStatus
from apps.runs.search import payload_terms
from apps.runs.services.plans import Compiled, compiled_by_id
from apps.runs.services.transitions import NODE_TRANSITIONS, RUN_TRANSITIONS, node_run_born


class Outcome(StrEnum):
    """What a delivery or a resume did, when it recorded no node status."""

    DROPPED = "dropped"  # the run or the node moved on meanwhile: nothing written
    BUSY = "busy"  # another live worker holds the node
    PAUSED = "paused"  # the kill switch: the run pauses, the node stays queued
    IGNORED = "ignored"  # nothing to do: no such node run, or not running


@dataclass
class Step:
    run: Run
    compiled: Compiled
    rows: dict[str, NodeRun]
    now: datetime
    is_new_run: bool = False
    paused: bool = False
    run_loaded: str = ""  # the run's status when this step read it (compare-and-set)
    new: list[NodeRun] = field(default_factory=list)
    # pk -> (row, status when loaded, fields changed since)
    changed: dict[int, tuple[NodeRun, str, dict[str, Any]]] = field(default_factory=dict)
    dispatch: list[NodeRun] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    run_fields: dict[str, Any] = field(default_factory=dict)
    # Rows that started waiting on a kind with a handler, with the wait's payload.
    waits: list[tuple[NodeRun, dict[str, Any]]] = field(default_factory=list)
    reached: list[str] = field(default_factory=list)  # run statuses reached in this step
    # node_id -> (the outputs it was made from, what nodes read of them): each pass of
    # advance reuses it instead of unescaping every finished node's outputs again
    node_entries: dict[str, tuple[Any, dict[str, Any]]] = field(default_factory=dict)
    guard: tuple[str, list[Any]] | None = None  # a new run's precondition (rows.StepWrite)

    def node_event(self, row: NodeRun) -> None:
        event = {"event": "node", "run_id": str(self.run.pk), "node_id": row.node_id,
                 "status": row.status, "attempt": row.attempt}
        if row.error:
            event["error"] = row.error
        self.events.append(event)


def new_row(step: Step, node_id: str, *, status: str, attempt: int = 1,
             inputs: dict[str, Any] | None = None, **fields: Any) -> NodeRun:
    row = node_run_born(status, run=step.run, node_id=node_id, attempt=attempt,
                        node_type=step.compiled.nodes[node_id]["type"], inputs=inputs or {},
                        **fields)
    row.created_at = step.now
    step.rows[node_id] = row
    step.new.append(row)
    return row


def set_node_status(step: Step, row: NodeRun, to: str, **fields: Any) -> None:
    """A status change of a row: in memory now; written with compare-and-set when the step is
    (or as part of the row's birth when the row is new in this step)."""
    if to != row.status and to not in NODE_TRANSITIONS[row.status]:
        raise AssertionError(f"node {row.node_id} cannot move from {row.status} to {to}")
    if row.pk is not None:
        _, loaded, prior = step.changed.get(row.pk, (row, row.status, {}))
        step.changed[row.pk] = (row, loaded, {**prior, **fields})
    row.status = to
    for key, value in fields.items():
        setattr(row, key, value)
    step.node_event(row)


def run_data(run: Run, compiled: Compiled) -> dict[str, Any]:
    """`run` in expressions (see apps.expressions.services.expression_data)."""
    return {"id": str(run.pk), "input": refs.unescape(run.input), "trigger": run.trigger,
            "trace_id": run.trace_id, "workflow_id": str(run.workflow_id),
            "workflow": {"id": str(run.workflow_id), "version": compiled.version_number}}


def node_data(compiled: Compiled, node_id: str, outputs: dict[str, Any]) -> dict[str, Any]:
    """A finished node's outputs as nodes read them: unescaped, or, when some are
    held by reference, left stored and marked `large` (materialised, then unescaped,
    only when a node that reads data runs)."""
    first = compiled.first_output.get(node_id)
    large = any(refs.is_ref(v) for v in outputs.values())
    if not large:
        outputs = refs.unescape(outputs)
    entry = {"output": outputs.get(first) if first else None, "outputs": outputs}
    if large:
        entry["large"] = True
    return entry


def node_entry(step: Step, node_id: str, outputs: dict[str, Any]) -> dict[str, Any]:
    hit = step.node_entries.get(node_id)
    if hit is not None and hit[0] is outputs:
        return hit[1]
    entry = node_data(step.compiled, node_id, outputs)
    step.node_entries[node_id] = (outputs, entry)
    return entry


def context_data(step: Step) -> dict[str, Any]:
    """What every node of this step may read besides its own inputs: the run, the
    outputs of finished nodes, the run's vars."""
    nodes = {node_id: node_entry(step, node_id, row.outputs)
             for node_id, row in step.rows.items()
             if row.status == NodeStatus.SUCCEEDED and row.outputs is not None}
    return {"nodes": nodes, "vars": refs.unescape(step.run.vars),
            "run": run_data(step.run, step.compiled)}


def failed_rows(step: Step) -> list[NodeRun]:
    return [r for r in step.rows.values() if r.status == NodeStatus.FAILED]


def run_result(step: Step) -> Any:
    """What a finished run gives its caller (a parent node, a map item): the respond
    node's body when one ran, else the first output of the last node that succeeded."""
    if step.run.response is not None:
        response = step.run.response
        return response.get("body") if isinstance(response, dict) else response
    for node_id in reversed(step.compiled.graph.order):
        row = step.rows.get(node_id)
        if row is not None and row.status == NodeStatus.SUCCEEDED and row.outputs:
            first = step.compiled.first_output[node_id]
            return row.outputs.get(first) if first else None
    return None


def set_run_status(step: Step, to: str, **fields: Any) -> None:
    run = step.run
    if run.status == to:
        return
    if to not in RUN_TRANSITIONS[run.status]:
        raise AssertionError(f"run cannot move from {run.status} to {to}")
    if to == RunStatus.SUCCEEDED:  # the result joins the input in payload search
        masker = masker_for(policy=policy_get(workflow_id=run.workflow_id), run_input=run.input,
                            node_outputs={node_id: row.outputs
                                          for node_id, row in step.rows.items()})
        fields["search_terms"] = payload_terms(run.input, run_result(step), masker=masker)
    run.status = to
    for key, value in fields.items():
        setattr(run, key, value)
    step.run_fields.update(fields)
    step.run_fields["status"] = to
    event = {"event": "run", "run_id": str(run.pk), "status": to}
    if run.error and to == RunStatus.FAILED:
        event["error"] = run.error
    step.events.append(event)
    step.reached.append(to)


class StepOutdated(Exception):
    """The step's premise no longer holds (a cancelled run, a finished node): write nothing."""


def step_load(run: Run, *, now: datetime | None = None) -> Step:
    """A step of a run read under its lock; `now` is PostgreSQL's clock (read with
    the lock by `rows.run_lock`, else asked for)."""
    compiled = compiled_by_id(run.version_id, run.workflow_id)
    # In (node_id, attempt) order: the latest attempt wins.
    latest = {row.node_id: row for row in rows.node_runs_of(run.pk)}
    now = now or getattr(run, "locked_at", None) or rows.db_now()
    return Step(run=run, compiled=compiled, rows=latest, now=now, run_loaded=run.status)


_offset = {"at": -1e9, "seconds": 0.0, "pid": 0}
_OFFSET_TTL_S = 30.0


def db_clock() -> datetime:
    """PostgreSQL's clock without a round trip: this process's clock corrected by its
    offset from PostgreSQL's, measured again every 30 s. For the start of a run (its
    deadline) on the webhook path; leases and due times that workers compare are taken
    inside the statements (`rows`)."""
    mono = time.monotonic()
    if mono - _offset["at"] > _OFFSET_TTL_S or _offset["pid"] != os.getpid():
        before = time.time()
        db = rows.db_now().timestamp()
        _offset.update(seconds=db - (before + time.time()) / 2, at=mono, pid=os.getpid())
    return datetime.fromtimestamp(time.time() + _offset["seconds"], tz=UTC)


def log_context_bind(run: Run) -> None:
    trace_id_var.set(run.trace_id)
    run_id_var.set(str(run.pk))
