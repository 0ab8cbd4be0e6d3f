"""The runs service: the one module that changes a run's or a node's status.

Every status write goes through `_run_move` / `_node_move` (compare-and-set:
``UPDATE ... WHERE status IN (allowed from)``) or is the birth of a row this
module decides on, so a second delivery of the same work cannot commit twice.

A *step* is one transaction on one run: lock the run row, record what happened
(a node's result, a retry due, a resume), ask the pure scheduler what is ready,
run ready `pure` nodes inline at once (rows are born finished, inserted in bulk),
queue the others for Celery workers (dispatched after commit), and settle the
run's status. Events for the live view are sent after the commit.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import random
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q

from apps.audit.redaction import SecretScrubber, secret_scope
from apps.audit.services import audit_record
from apps.core.context import run_id_var, trace_id_var
from apps.core.db import db_error_is_transient
from apps.core.errors import Unprocessable
from apps.core.inbound import clean_text
from apps.nodes.base import (
    ERROR_PORT,
    ExecutionPolicy,
    NodeContext,
    NodeError,
    NodeType,
    Outputs,
    Wait,
)
from apps.nodes.registry import registry
from apps.runs import events, metrics, refs, replay, rows, scheduler
from apps.runs.engine_hooks import HookTime, engine_hooks
from apps.runs.models import (
    EngineSwitch,
    MapItem,
    NodeRun,
    NodeStatus,
    Run,
    RunStatus,
    WorkflowRuntime,
)
from apps.runs.node_services import node_services
from apps.runs.search import payload_terms
from apps.variables.selectors import variables_snapshot
from apps.workflows.models import Workflow, WorkflowVersion

logger = logging.getLogger("weft.runs")

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


def _sources(table: dict[str, set[str]], to: str) -> list[str]:
    return [src for src, targets in table.items() if to in targets]


def _run_move(run_id, to: str, **fields: Any) -> bool:
    """Compare-and-set a run's status; False when another writer got there first."""
    return Run.objects.filter(pk=run_id, status__in=_sources(RUN_TRANSITIONS, to)).update(
        status=to, **fields) == 1


def _node_move(queryset, to: str, **fields: Any) -> int:
    return queryset.filter(status__in=_sources(NODE_TRANSITIONS, to)).update(status=to, **fields)


def _born(path: Iterable[str]) -> str:
    """The status of a row that is inserted having already walked `path` in memory
    (e.g. pending -> running -> succeeded for an inline node); checks each hop."""
    steps = list(path)
    for src, dst in zip(steps, steps[1:], strict=False):
        if dst not in NODE_TRANSITIONS[src]:
            raise AssertionError(f"node status cannot move from {src} to {dst}")
    return steps[-1]


# --- Compiled versions and the kill switch (read on the hot path, cached) -----------------

@dataclass
class Compiled:
    version_id: int
    workflow_id: uuid.UUID
    graph: scheduler.Graph
    nodes: dict[str, dict[str, Any]]
    types: dict[str, type[NodeType]]
    configs: dict[str, Any]
    instances: dict[str, NodeType]
    first_output: dict[str, str | None]
    input_ports: dict[str, tuple[str, ...]]
    all_pure: bool
    version_number: int | None = None
    # Nodes whose `error` port has an edge: only those may continue there.
    error_wired: frozenset[str] = frozenset()


_compiled_cache: dict[int, Compiled] = {}
_cache_lock = threading.Lock()


def _describe(type_name: str, version: int):
    node_type = registry.get(type_name, version)
    if node_type is None:
        return None
    ports = tuple(scheduler.PortSpec(p.name, p.required, p.multiple) for p in node_type.inputs)
    return ports, node_type.is_trigger


def compile_version(version: WorkflowVersion) -> Compiled:
    cached = _compiled_cache.get(version.pk)
    if cached is not None:
        return cached
    document = registry.upgrade_graph(version.graph)  # older node type versions
    nodes = {n["id"]: n for n in document["nodes"]}
    types, configs, instances, first_output = {}, {}, {}, {}
    for node_id, node in nodes.items():
        node_type = registry.get(node["type"], node.get("version", 1))
        if node_type is None:
            raise Unprocessable(f"Node {node_id!r} has type {node['type']!r}, which this "
                                "server does not know.", code="unknown_node_type")
        types[node_id] = node_type
        configs[node_id] = node_type.Config.model_validate(node.get("config") or {})
        instances[node_id] = node_type()
        ports = node_type.output_ports(configs[node_id])
        first_output[node_id] = ports[0].name if ports else None
    compiled = Compiled(
        input_ports={node_id: tuple(p.name for p in types[node_id].inputs) for node_id in nodes},
        version_number=getattr(version, "number", None),
        version_id=version.pk, workflow_id=version.workflow_id,
        graph=scheduler.compile_graph(document, _describe), nodes=nodes, types=types,
        configs=configs, instances=instances, first_output=first_output,
        all_pure=all(t.pure for t in types.values()))
    compiled.error_wired = frozenset(
        edge.source for edges in compiled.graph.incoming.values() for edge in edges
        if edge.source_port == ERROR_PORT)
    with _cache_lock:
        if len(_compiled_cache) > 512:
            _compiled_cache.clear()
        _compiled_cache[version.pk] = compiled
    return compiled


def compiled_by_id(version_id: int) -> Compiled:
    """The compiled plan of a version by id: versions are immutable, so the graph is
    read from the database once per process."""
    cached = _compiled_cache.get(version_id)
    if cached is not None:
        return cached
    return compile_version(WorkflowVersion.objects.only(
        "pk", "number", "graph", "workflow_id").get(pk=version_id))


class _TtlCache:
    """A tiny per-process cache for hot reads that may lag by `ttl` seconds
    (another process's kill switch change, a new published version)."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.data: dict[Any, tuple[float, Any]] = {}

    def get(self, key, load):
        now = time.monotonic()
        hit = self.data.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load()
        if len(self.data) > 10000:
            self.data.clear()
        self.data[key] = (now + self.ttl, value)
        return value

    def forget(self, key) -> None:
        self.data.pop(key, None)

    def clear(self) -> None:
        self.data.clear()


_switch_cache = _TtlCache(1.0)
_version_cache = _TtlCache(1.0)


def engine_paused_reason(*, workflow_id, fresh: bool = False) -> str | None:
    """Why new work of this workflow is refused (the kill switch), or None. May lag by
    up to a second behind a change made in another process, unless `fresh`."""

    def load():
        row = (EngineSwitch.objects.filter(Q(workflow__isnull=True) | Q(workflow=workflow_id),
                                           paused=True)
               .order_by(F("workflow").asc(nulls_first=True)).values("workflow", "reason")
               .first())
        if row is None:
            return None
        scope = "All workflows are" if row["workflow"] is None else "This workflow is"
        return f"{scope} paused by an administrator" + (
            f": {row['reason']}" if row["reason"] else ".")

    if fresh:
        _switch_cache.forget(str(workflow_id))
    return _switch_cache.get(str(workflow_id), load)


def latest_version(*, workflow: Workflow) -> WorkflowVersion | None:
    return _version_cache.get(workflow.pk, lambda: workflow.versions.order_by("-number")
                              .only("pk", "number", "graph", "workflow_id").first())


# --- The step: an in-memory view of one run, flushed in one transaction ------------------

@dataclass
class NodeFailure(Exception):
    type: str
    message: str
    retryable: bool = True
    details: dict[str, Any] = field(default_factory=dict)
    retry_after_s: float | None = None  # the remote side's Retry-After

    def as_dict(self) -> dict[str, Any]:
        # (A message may quote what a remote server sent: kept storable.)
        body: dict[str, Any] = {"type": clean_text(self.type),
                                "message": clean_text(self.message)}
        if self.details:
            body["details"] = self.details
        return body


# Failures that never take the error port or the default output: the run was stopped
# on purpose, or the node kept killing its worker.
_NOT_HANDLED = frozenset({"cancelled", "quarantined"})


@dataclass
class _Step:
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
    after_commit: list[Any] = field(default_factory=list)
    run_fields: dict[str, Any] = field(default_factory=dict)
    finished_children: list[Run] = field(default_factory=list)
    # Rows that started waiting on a kind with a handler, with the wait's payload.
    waits: list[tuple[NodeRun, dict[str, Any]]] = field(default_factory=list)
    reached: list[str] = field(default_factory=list)  # run statuses reached in this step
    # node_id -> (the outputs it was made from, what nodes read of them): each pass of
    # _pump reuses it instead of unescaping every finished node's outputs again
    node_entries: dict[str, tuple[Any, dict[str, Any]]] = field(default_factory=dict)
    guard: tuple[str, list[Any]] | None = None  # a new run's precondition (rows.StepWrite)

    def node_event(self, row: NodeRun) -> None:
        event = {"event": "node", "run_id": str(self.run.pk), "node_id": row.node_id,
                 "status": row.status, "attempt": row.attempt}
        if row.error:
            event["error"] = row.error
        self.events.append(event)


def _new_row(step: _Step, node_id: str, *, status: str, attempt: int = 1,
             inputs: dict[str, Any] | None = None, **fields: Any) -> NodeRun:
    row = NodeRun(run=step.run, node_id=node_id, node_type=step.compiled.nodes[node_id]["type"],
                  attempt=attempt, status=status, inputs=inputs or {}, **fields)
    row.created_at = step.now
    step.rows[node_id] = row
    step.new.append(row)
    return row


def _change(step: _Step, row: NodeRun, to: str, **fields: Any) -> None:
    """A status change of a row: in memory now; written with compare-and-set at flush
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


def _run_data(run: Run, compiled: Compiled) -> dict[str, Any]:
    """`run` in expressions (see apps.expressions.services.expression_data)."""
    return {"id": str(run.pk), "input": refs.unescape(run.input), "trigger": run.trigger,
            "trace_id": run.trace_id, "workflow_id": str(run.workflow_id),
            "workflow": {"id": str(run.workflow_id), "version": compiled.version_number}}


def _node_data(compiled: Compiled, node_id: str, outputs: dict[str, Any]) -> dict[str, Any]:
    """A finished node's outputs as nodes read them: unescaped, or, when some are
    held by reference, left stored and marked `large` (materialised, then unescaped,
    only when a node that reads data runs)."""
    first = compiled.first_output.get(node_id)
    large = any(is_ref(v) for v in outputs.values())
    if not large:
        outputs = refs.unescape(outputs)
    entry = {"output": outputs.get(first) if first else None, "outputs": outputs}
    if large:
        entry["large"] = True
    return entry


def _node_entry(step: _Step, node_id: str, outputs: dict[str, Any]) -> dict[str, Any]:
    hit = step.node_entries.get(node_id)
    if hit is not None and hit[0] is outputs:
        return hit[1]
    entry = _node_data(step.compiled, node_id, outputs)
    step.node_entries[node_id] = (outputs, entry)
    return entry


def _context_data(step: _Step) -> dict[str, Any]:
    """What every node of this step may read besides its own inputs: the run, the
    outputs of finished nodes, the run's vars."""
    nodes = {node_id: _node_entry(step, node_id, row.outputs)
             for node_id, row in step.rows.items()
             if row.status == NodeStatus.SUCCEEDED and row.outputs is not None}
    return {"nodes": nodes, "vars": refs.unescape(step.run.vars),
            "run": _run_data(step.run, step.compiled)}


def _should_stop(run_id) -> Any:
    last = {"at": 0.0, "value": False}

    def check() -> bool:
        now = time.monotonic()
        if now - last["at"] > 0.5:
            last["at"] = now
            try:
                status = Run.objects.filter(pk=run_id).values_list("status", flat=True).first()
            except DatabaseError:  # the database away: go on; the settle finds out
                connection.close()
                return last["value"]
            last["value"] = status not in (RunStatus.RUNNING, RunStatus.WAITING)
        return last["value"]

    return check


def _policy(config: Any) -> ExecutionPolicy:
    policy = getattr(config, "policy", None)
    return policy if isinstance(policy, ExecutionPolicy) else ExecutionPolicy()


def _invoke(compiled: Compiled, node_id: str, context: NodeContext) -> Outputs | Wait:
    """Call a node type's code; every failure comes back as a NodeFailure. Credential
    values handed out meanwhile are masked in what comes back and in log lines
    (apps.audit.redaction.secret_scope)."""
    with secret_scope() as scope:
        result = _invoke_scoped(compiled, node_id, context, scope)
        if isinstance(result, Outputs):
            return Outputs(scope.scrub(result.ports))
        result.payload = scope.scrub(result.payload)
        return result


def _invoke_scoped(compiled: Compiled, node_id: str, context: NodeContext,
                   scope: SecretScrubber) -> Outputs | Wait:
    from celery.exceptions import SoftTimeLimitExceeded

    node_type = compiled.types[node_id]
    started = time.perf_counter()
    try:
        result = compiled.instances[node_id].execute(context, compiled.configs[node_id])
    except NodeFailure:
        raise
    except NodeError as exc:  # a node's declared failure: its type and whether to retry
        raise NodeFailure(exc.type, scope.text(exc.message), exc.retryable,
                          details=scope.scrub(exc.details),
                          retry_after_s=exc.retry_after_s) from exc
    except SoftTimeLimitExceeded as exc:
        raise NodeFailure("timeout", "The node ran past its timeout of "
                          f"{_policy(compiled.configs[node_id]).timeout_s} s.") from exc
    except Exception as exc:  # a node's own failure, whatever it is, is stored on its row
        logger.info("node failed", extra={"node_id": node_id, "error": repr(exc),
                                           "trace": traceback.format_exc(limit=5)})
        raise NodeFailure(exc.__class__.__name__, scope.text(str(exc) or repr(exc))) from exc
    finally:
        metrics.NODE_DURATION.labels(node_type.type).observe(time.perf_counter() - started)
    if not isinstance(result, Outputs | Wait):
        raise NodeFailure("invalid_result", f"Node type {node_type.type} returned "
                          f"{type(result).__name__}, not Outputs or Wait.")
    if isinstance(result, Outputs):
        unknown = set(result.ports) - node_type.output_names(compiled.configs[node_id])
        if unknown:
            raise NodeFailure("invalid_result", f"Node type {node_type.type} fired unknown "
                              f"output port(s) {sorted(unknown)}.")
    return result


def _make_context(step: _Step, row: NodeRun, *, data: dict[str, Any] | None = None,
                  services: dict[str, Any] | None = None) -> NodeContext:
    data = data if data is not None else _context_data(step)
    inputs = row.inputs
    if not getattr(step.compiled.types[row.node_id], "inputs_by_reference", False):
        # This node reads its data: large values left in the database come in now
        # (once per step: `data` is shared by the nodes a step runs).
        inputs = refs.unescape(refs.materialise_ports(inputs))
        for entry in data["nodes"].values():
            if entry.get("large"):
                entry.pop("large")
                entry["outputs"] = refs.unescape(refs.materialise_ports(entry["outputs"]))
                entry["output"] = refs.unescape(refs.materialise(entry["output"]))
    return NodeContext(run_id=str(step.run.pk), node_id=row.node_id, attempt=row.attempt,
                       inputs=inputs, run=data["run"], nodes=data["nodes"],
                       vars=data["vars"], trace_id=step.run.trace_id,
                       services=services or node_services(), should_stop=_should_stop(step.run.pk),
                       input_ports=step.compiled.input_ports[row.node_id])


def _apply_result(step: _Step, row: NodeRun, result: Outputs | Wait | NodeFailure) -> None:
    """Record what a node's execution gave (the row is running)."""
    compiled = step.compiled
    node_type = compiled.types[row.node_id]
    if isinstance(result, NodeFailure):
        _apply_failure(step, row, result)
        return
    try:  # what a node gives is data from outside: checked and escaped (apps.runs.refs)
        if isinstance(result, _Stored):
            ports = result.ports
        elif isinstance(result, Wait):
            result = dataclasses.replace(result, payload=refs.admit(result.payload,
                                                                    root="payload"))
        else:
            ports = refs.admit(dict(result.ports), root="outputs")
    except refs.JsonProblem as problem:
        _apply_failure(step, row, NodeFailure(
            "invalid_output", f"Node {row.node_id!r} gave data that cannot be stored: "
            f"{problem.path} {problem.message}.", retryable=False))
        return
    if isinstance(result, Wait):
        _apply_wait(step, row, result)
        return
    _change(step, row, NodeStatus.SUCCEEDED, outputs=ports, finished_at=step.now)
    if getattr(node_type, "responds", False):
        step.run.response = ports.get(compiled.first_output[row.node_id])
        step.run_fields["response"] = step.run.response


def _apply_failure(step: _Step, row: NodeRun, failure: NodeFailure) -> None:
    """Retry (a due-time row), continue (error port / default output) or fail."""
    policy = _policy(step.compiled.configs[row.node_id])
    node_type = step.compiled.types[row.node_id]
    first = step.compiled.first_output[row.node_id]
    error = failure.as_dict()
    handled = failure.type not in _NOT_HANDLED
    if handled and failure.retryable and row.attempt <= policy.retries:
        _change(step, row, NodeStatus.FAILED, error=error, finished_at=step.now)
        metrics.RETRIES.labels(node_type.type).inc()
        retry = _new_row(step, row.node_id, status=NodeStatus.PENDING, attempt=row.attempt + 1,
                         inputs=row.inputs, due_at=step.now + timedelta(
                             seconds=retry_delay_s(policy, row.attempt, failure.retry_after_s)))
        step.node_event(retry)
    elif handled and policy.on_error == "error_port" and row.node_id in step.compiled.error_wired:
        _change(step, row, NodeStatus.SUCCEEDED, error=error, finished_at=step.now,
                outputs={ERROR_PORT: {**error, "input": next(iter(row.inputs.values()), None)}})
    elif handled and policy.on_error == "default_output" and first:
        _change(step, row, NodeStatus.SUCCEEDED, error=error, finished_at=step.now,
                outputs={first: refs.escape(policy.default_output)})
    else:
        _change(step, row, NodeStatus.FAILED, error=error, finished_at=step.now)


def retry_delay_s(policy: ExecutionPolicy, attempt: int, retry_after_s: float | None) -> float:
    """Seconds before try `attempt + 1`: the backoff doubles from `backoff_s` up to
    `backoff_max_s`, with jitter (half to all of it), and is never shorter than what
    the remote side asked for (Retry-After, itself capped at a day)."""
    delay = min(policy.backoff_max_s, policy.backoff_s * 2 ** (attempt - 1))
    delay *= random.uniform(0.5, 1.0)
    if retry_after_s is not None and retry_after_s > 0:
        delay = max(delay, min(retry_after_s, 86400.0))
    return delay


def _apply_wait(step: _Step, row: NodeRun, wait: Wait) -> None:
    state = {"kind": wait.kind, "payload": wait.payload}
    _change(step, row, NodeStatus.WAITING, due_at=wait.until, state=state)
    kind = engine_hooks.wait_kinds.get(wait.kind)
    if kind is not None and kind.on_wait is not None:
        step.waits.append((row, wait.payload))
    if wait.kind == "subworkflow":
        step.after_commit.append(("subworkflow", row))
    elif wait.kind == "map":
        step.after_commit.append(("map_begin", row))


class _Stored(Outputs):
    """Outputs the engine made from stored data (a disabled node's input passed on,
    references included): kept as they are, never escaped again."""


def _passthrough(step: _Step, row: NodeRun) -> Outputs:
    first = step.compiled.first_output[row.node_id]
    value = next(iter(row.inputs.values()), None)
    return _Stored({first: value} if first else {})


def _execute_inline(step: _Step, row: NodeRun, data: dict[str, Any]) -> None:
    _change(step, row, NodeStatus.RUNNING, started_at=step.now,
            delivery_count=row.delivery_count + 1)
    if step.compiled.nodes[row.node_id].get("disabled"):
        result: Outputs | Wait | NodeFailure = _passthrough(step, row)
    else:
        try:
            result = _invoke(step.compiled, row.node_id, _make_context(step, row, data=data))
        except NodeFailure as failure:
            result = failure
    _apply_result(step, row, result)


def _pump(step: _Step) -> None:
    """Create rows for what became ready or skipped; run pure ones inline; queue the rest."""
    compiled = step.compiled
    while True:
        states = {nid: scheduler.NodeState(r.status, r.outputs) for nid, r in step.rows.items()}
        plan = scheduler.plan(compiled.graph, states)
        progressed = bool(plan.skip or plan.ready)
        for node_id in plan.skip:
            row = _new_row(step, node_id, status=_born([NodeStatus.PENDING, NodeStatus.SKIPPED]),
                           finished_at=step.now)
            step.node_event(row)
        for node_id, inputs in plan.ready.items():
            _new_row(step, node_id, status=NodeStatus.PENDING, inputs=inputs)
        if step.paused or _failed_rows(step):
            break
        data = None
        for row in list(step.rows.values()):
            if row.status != NodeStatus.PENDING or (row.due_at and row.due_at > step.now):
                continue
            node_type = compiled.types[row.node_id]
            if node_type.pure or compiled.nodes[row.node_id].get("disabled"):
                if data is None:
                    data = _context_data(step)
                _execute_inline(step, row, data)
                if row.status == NodeStatus.SUCCEEDED:
                    data["nodes"][row.node_id] = _node_entry(step, row.node_id,
                                                             row.outputs or {})
                progressed = True
            else:
                # Its message is "not yet published" until the broker took it (the
                # outbox: apps.runs.outbox sends it again if it never gets there).
                _change(step, row, NodeStatus.QUEUED, queued_at=step.now, dispatched_at=None)
                step.dispatch.append(row)
        if not progressed:
            break


def _failed_rows(step: _Step) -> list[NodeRun]:
    return [r for r in step.rows.values() if r.status == NodeStatus.FAILED]


def _run_result(step: _Step) -> Any:
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


def _settle(step: _Step) -> None:
    """Decide the run's status from its rows."""
    failed = _failed_rows(step)
    states = {nid: scheduler.NodeState(r.status, r.outputs) for nid, r in step.rows.items()}
    if failed:
        first = failed[0]
        for row in step.rows.values():
            if row.status in NODE_OPEN:
                _change(step, row, NodeStatus.CANCELLED, finished_at=step.now)
        error = {"type": first.error["type"], "message": first.error["message"],
                 "node_id": first.node_id}
        _set_run_status(step, RunStatus.FAILED, error=error, finished_at=step.now)
    elif scheduler.is_finished(step.compiled.graph, states):
        _set_run_status(step, RunStatus.SUCCEEDED, finished_at=step.now)
    elif step.paused:
        _set_run_status(step, RunStatus.PAUSED)
    elif any(r.status in (NodeStatus.PENDING, NodeStatus.QUEUED, NodeStatus.RUNNING)
             for r in step.rows.values()):
        _set_run_status(step, RunStatus.RUNNING)
    else:
        _set_run_status(step, RunStatus.WAITING)


def _set_run_status(step: _Step, to: str, **fields: Any) -> None:
    run = step.run
    if run.status == to:
        return
    if to not in RUN_TRANSITIONS[run.status]:
        raise AssertionError(f"run cannot move from {run.status} to {to}")
    if to == RunStatus.SUCCEEDED:  # the result joins the input in payload search
        fields["search_terms"] = payload_terms(run.input, _run_result(step))
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
    if to in RUN_FINISHED:
        metrics.RUNS_FINISHED.labels(str(run.workflow_id), to).inc()
        if run.parent_node_run_id:
            step.finished_children.append(run)
        if to == RunStatus.FAILED and run.trigger != "error":
            run_id = run.pk
            step.after_commit.append(("error_trigger", run_id))
        if run.parent_run_id is None and _concurrency_limit(run.workflow_id):
            step.after_commit.append(("workflow_capacity", run.workflow_id))


class _Dropped(Exception):
    """The step's premise no longer holds (a cancelled run, a finished node): write nothing."""


def _flush(step: _Step) -> None:
    """Write the step in one statement: the run (insert, or compare-and-set on the
    status it was read with), changed rows (compare-and-set), new rows. Then hand
    dispatch and events to on_commit."""
    write = rows.StepWrite(new_rows=step.new, guard=step.guard)
    if step.is_new_run:
        write.run_insert = step.run
    elif step.run_fields:
        fields = dict(step.run_fields)
        # Each hop was checked against RUN_TRANSITIONS by _set_run_status.
        write.run_update = (step.run.pk, step.run_loaded if "status" in fields else None,
                            fields)
    for pk, (row, loaded, fields) in step.changed.items():
        if row.status != loaded:
            fields = {**fields, "status": row.status}
        write.row_updates.append((pk, loaded, fields))
    if not rows.step_write(write):
        if step.guard is not None:  # a new run checks nothing else
            raise replay.ClaimTaken()
        raise _Dropped(f"run {step.run.pk} or one of its node runs moved on concurrently")
    for row, payload in step.waits:  # the rows are written: a task may refer to its row
        engine_hooks.wait_kinds[row.state["kind"]].on_wait(run=step.run, node_run=row,
                                                            payload=payload)
    for status in step.reached:
        _run_reached(step.run, status, waited=_wait_kinds(step))
    _after_commit(step)


def _wait_kinds(step: _Step) -> set[str]:
    """The wait kinds this run's nodes have used (every row of the run is in the step)."""
    return {r.state["kind"] for r in step.rows.values()
            if isinstance(r.state, dict) and "kind" in r.state}


def _hooks(status: str, when: HookTime, waited: set[str] | None):
    """The handlers of a run status that apply: one that only concerns runs that used a
    wait kind (approvals and their tasks) is skipped for a run that never did, so a
    webhook run stays one statement."""
    return [hook for hook in engine_hooks.for_status(status, when)
            if waited is None or hook.wait_kind is None or hook.wait_kind in waited]


def _run_reached(run: Run, status: str, *, waited: set[str] | None = None) -> None:
    """The handlers of a run status (apps.runs.engine_hooks): in this transaction, or
    after it commits. `waited`: the wait kinds the run used, when known."""
    for hook in _hooks(status, HookTime.IN_TRANSACTION, waited):
        hook.handler(run=run, status=status)
    for hook in _hooks(status, HookTime.AFTER_COMMIT, waited):
        transaction.on_commit(functools.partial(hook.handler, run=run, status=status))


def _needs_transaction(step: _Step) -> bool:
    """Whether flushing this step writes more than its one statement (hooks, children)."""
    waited = _wait_kinds(step)
    return bool(step.waits or step.finished_children or any(
        kind in ("map_begin", "subworkflow") for kind, _ in step.after_commit) or any(
        _hooks(status, HookTime.IN_TRANSACTION, waited) for status in step.reached))


def _after_commit(step: _Step) -> None:
    dispatch = [(row.pk, row.node_id) for row in step.dispatch]
    run = step.run
    compiled = step.compiled
    if dispatch:
        jobs = []
        for pk, node_id in dispatch:
            node_type = compiled.types[node_id]
            timeout = _policy(compiled.configs[node_id]).timeout_s
            jobs.append((pk, node_type.queue or "default", timeout))
        transaction.on_commit(lambda: dispatch_node_runs(jobs, trace_id=run.trace_id))
    if step.events:
        evts = step.events
        transaction.on_commit(lambda: events.publish_run(str(run.pk), evts))
    for kind, value in step.after_commit:
        if kind == "map_begin":
            _map_begin(value)
        elif kind == "subworkflow":
            _start_child(step.run, value)
        elif kind == "error_trigger":
            transaction.on_commit(lambda v=value: _enqueue("runs.error_triggers", [str(v)]))
        elif kind == "workflow_capacity":
            transaction.on_commit(lambda v=value: _enqueue("runs.start_queued", [str(v)]))
    for child in step.finished_children:
        _child_finished(child, _run_result(step))


def _enqueue(task_name: str, args: list[Any], queue: str = "maintenance") -> None:
    from celery_worker.app import app

    try:
        app.send_task(task_name, args=args, queue=queue)
    except Exception:  # the sweep is the safety net for anything not sent
        logger.exception("could not enqueue %s", task_name)


# One quick second try (a pooled broker connection that went stale), never a loop: a
# request or a step must not wait on a broker outage. The outbox sends the rest again.
RETRY_POLICY = {"max_retries": 1, "interval_start": 0.05, "interval_step": 0.1,
                "interval_max": 0.1}


def dispatch_node_runs(jobs: list[tuple[int, str, float | None]], *, trace_id: str) -> list[int]:
    """Send node runs to their queues (after the commit that queued them) and mark
    those the broker took as published (apps.runs.outbox, off this thread). A publish
    that fails leaves the row queued and unpublished: a worker process's outbox loop
    sends it again within seconds of the broker's return. Returns the pks not sent.
    Through Weft's Celery app by name, never a task's `current_app`: that is per
    thread, and in a thread of a web server that never made it current it is Celery's
    unconfigured default app (a broker on localhost that is not Weft's)."""
    from apps.runs import outbox
    from celery_worker.app import app

    sent, unsent = [], []
    for index, (pk, queue, timeout) in enumerate(jobs):
        options: dict[str, Any] = {"queue": queue, "retry": True,
                                   "retry_policy": RETRY_POLICY,
                                   "headers": {"weft_trace_id": trace_id}}
        if timeout:
            options["soft_time_limit"] = timeout
            options["time_limit"] = timeout + 10
        try:
            app.send_task("runs.node_execute", args=[pk], **options)
        except Exception as exc:  # the broker is away: the outbox has the rest
            unsent = [job[0] for job in jobs[index:]]
            logger.warning("could not dispatch %d node run(s) (%s); the outbox sends them "
                           "again", len(unsent), exc.__class__.__name__)
            break
        sent.append(pk)
    outbox.published(pks=sent)
    return unsent


# --- Large values stay in PostgreSQL: references (apps.runs.refs) -----------------------
#
# Data enters the engine escaped (`refs.admit`: a run's input, a node's outputs, a
# wait's payload) and leaves it unescaped (`refs.unescape`: what a node reads, what a
# webhook answers), so a value from outside can never pose as a reference.

REF_KEY = refs.REF_KEY
MAP_INLINE_MAX = 1000
is_ref = refs.is_ref
_materialise = refs.materialise
_materialise_ports = refs.materialise_ports


def _load_step(run: Run, *, now: datetime | None = None) -> _Step:
    """A step of a run read under its lock; `now` is PostgreSQL's clock (read with
    the lock by `rows.run_lock`, else asked for)."""
    compiled = compiled_by_id(run.version_id)
    # In (node_id, attempt) order: the latest attempt wins.
    latest = {row.node_id: row for row in rows.node_runs_of(run.pk)}
    now = now or getattr(run, "locked_at", None) or rows.db_now()
    return _Step(run=run, compiled=compiled, rows=latest, now=now, run_loaded=run.status)


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


def _bind(run: Run) -> None:
    trace_id_var.set(run.trace_id)
    run_id_var.set(str(run.pk))


# --- Starting runs ------------------------------------------------------------------------

_limit_cache = _TtlCache(1.0)


def _runtime_settings(workflow_id) -> dict[str, Any] | None:
    """Concurrency limit and run timeout; may lag a second behind another process's change."""
    return _limit_cache.get(workflow_id, lambda: WorkflowRuntime.objects.filter(
        workflow_id=workflow_id).values("max_concurrency", "run_timeout_s").first())


def _concurrency_limit(workflow_id) -> int | None:
    runtime = _runtime_settings(workflow_id)
    return runtime["max_concurrency"] if runtime else None


def run_start(*, workflow: Workflow, input: dict[str, Any] | None = None,
              trigger: str = "manual", user=None, token=None, trigger_ref: str = "",
              trace_id: str | None = None, version: WorkflowVersion | None = None,
              parent_node_run: NodeRun | None = None, check_paused: bool = True,
              stored_input: bool = False, run_id: uuid.UUID | None = None,
              guard: tuple[str, list[Any]] | None = None) -> Run:
    """Start a run of the latest published version (or `version`). Pure nodes run
    at once, in this process; the rest go to workers. Refused while paused. `input`
    comes from outside and is checked and escaped (apps.runs.refs), unless
    `stored_input`: the engine's own stored data (a child run's, a map item's).
    `run_id` and `guard`: the id chosen beforehand and the claim of a request receipt
    written in the run's own statement (apps.runs.replay); raises replay.ClaimTaken,
    writing nothing, when the claim was made before."""
    if not stored_input:
        try:
            input = refs.admit(input or {}, root="input")
        except refs.JsonProblem as problem:
            raise Unprocessable(f"The run's input cannot be stored: {problem.path} "
                                f"{problem.message}.", code=problem.code,
                                errors={problem.path: [problem.message]}) from None
    if version is None:
        version = latest_version(workflow=workflow)
        if version is None:
            raise Unprocessable("This workflow has no published version; publish it first.",
                                code="not_published")
    if check_paused:
        reason = engine_paused_reason(workflow_id=workflow.pk)
        if reason:
            raise Unprocessable(reason, code="paused", status_code=423)
    compiled = compile_version(version)
    now = db_clock()
    run = Run(id=run_id or uuid.uuid4(), workflow_id=workflow.pk, version_id=version.pk,
              trigger=trigger, input=input or {}, status=RunStatus.QUEUED, created_at=now,
              started_by=user if user is not None and user.is_authenticated else None,
              started_by_token=token, trigger_ref=trigger_ref,
              trace_id=trace_id or uuid.uuid4().hex,
              parent_run_id=parent_node_run.run_id if parent_node_run else None,
              parent_node_run=parent_node_run, vars=variables_snapshot(),
              search_terms=payload_terms(input))
    _bind(run)
    metrics.RUNS_STARTED.labels(str(workflow.pk), trigger).inc()
    limit = None
    if parent_node_run is None:
        runtime = _runtime_settings(workflow.pk)
        limit = runtime and runtime["max_concurrency"]
        timeout = (runtime and runtime["run_timeout_s"]) or settings.WEFT_RUN_TIMEOUT_S
    else:
        timeout = settings.WEFT_RUN_TIMEOUT_S
    run.deadline_at = now + timedelta(seconds=timeout)
    # People's starts are audited; webhook, schedule and child runs are only in the
    # runs table (their volume would serialise on the audit chain).
    audited = run.started_by_id is not None or token is not None
    if not limit and not audited:
        step = _Step(run=run, compiled=compiled, rows={}, now=now, is_new_run=True,
                     guard=guard)
        _begin(step)  # in memory: pure nodes run, nothing is written yet
        if not _needs_transaction(step):
            # The hot path (webhooks, schedules): the run and its rows are one INSERT,
            # which is its own transaction unless the caller holds one.
            _flush(step)
            return run
        with transaction.atomic():
            _flush(step)
        return run
    with transaction.atomic():
        if limit and not _has_capacity(workflow.pk, limit):
            if guard is not None and not rows.guard_holds(guard):
                raise replay.ClaimTaken()
            run.save(force_insert=True)  # queued: started in order when a slot frees
            transaction.on_commit(lambda: events.publish_run(
                str(run.pk), [{"event": "run", "run_id": str(run.pk), "status": run.status}]))
            return run
        step = _Step(run=run, compiled=compiled, rows={}, now=now, is_new_run=True,
                     guard=guard)
        _begin(step)
        _flush(step)
        if audited:
            audit_record(action="run.start", actor=token or user, target=run,
                         run_id=str(run.pk), data={"workflow": str(workflow.pk),
                                                   "version": version.number,
                                                   "trigger": trigger})
    return run


def _has_capacity(workflow_id, limit: int) -> bool:
    # Serialise starts of this workflow so two of them cannot both take the last slot.
    WorkflowRuntime.objects.select_for_update().filter(workflow_id=workflow_id).first()
    active = Run.objects.filter(workflow_id=workflow_id, status__in=RUN_ACTIVE,
                                parent_run__isnull=True).count()
    queued_before = Run.objects.filter(workflow_id=workflow_id, status=RunStatus.QUEUED,
                                       parent_run__isnull=True).exists()
    return active < limit and not queued_before


def _begin(step: _Step) -> None:
    run = step.run
    _set_run_status(step, RunStatus.RUNNING, started_at=step.now)
    step.paused = bool(engine_paused_reason(workflow_id=run.workflow_id))
    _pump(step)
    _settle(step)


def runs_start_queued(*, workflow_id) -> int:
    """Start queued runs of a workflow, oldest first, while its concurrency limit allows."""
    started = 0
    while True:
        with transaction.atomic():
            runtime = WorkflowRuntime.objects.select_for_update().filter(
                workflow_id=workflow_id).first()
            limit = runtime.max_concurrency if runtime else None
            active = Run.objects.filter(workflow_id=workflow_id, status__in=RUN_ACTIVE,
                                        parent_run__isnull=True).count()
            if limit and active >= limit:
                return started
            run = (Run.objects.select_for_update(skip_locked=True)
                   .filter(workflow_id=workflow_id, status=RunStatus.QUEUED)
                   .order_by("created_at").first())
            if run is None:
                return started
            _bind(run)
            step = _load_step(run)
            _begin(step)
            _flush(step)
            started += 1


# --- Node execution by a worker ----------------------------------------------------------

def node_run_execute(*, node_run_id: int, worker: str = "") -> str:
    """Run one queued node (a Celery delivery). Returns what happened, for logs/tests.
    Leases and the step's `now` come from PostgreSQL's clock, never this process's."""
    holder = worker_identity(worker)
    # The common case in one statement: claim the row (queued, or running with a lapsed
    # lease or a holder that stopped beating: its worker died) with compare-and-set,
    # and read the row, its run and the earlier outputs it may read.
    claim = rows.node_run_claim(node_run_id, holder=holder, lease_s=settings.WEFT_NODE_LEASE_S,
                                dead_after_s=settings.WEFT_HOLDER_DEAD_S)
    if claim is None:
        outcome = _claim_refused(node_run_id, holder=holder)
        if isinstance(outcome, str):
            return outcome
        claim = outcome
    row = claim.row
    run = row.run
    now = claim.now
    _bind(run)
    if row.delivery_count > settings.WEFT_MAX_DELIVERIES:
        metrics.QUARANTINED.labels(row.node_type).inc()
        died = row.delivery_count - 1  # this delivery found the node, it did not run it
        failure = NodeFailure("quarantined", f"Node {row.node_id!r} was started {died} "
                              f"time{'s' if died != 1 else ''} and its worker died each time; "
                              "it is quarantined and the run fails.", retryable=False)
        return _complete(row, failure)
    if row.delivery_count == 1:
        events.publish_run(str(run.pk), [{"event": "node", "run_id": str(run.pk),
                                          "node_id": row.node_id, "status": NodeStatus.RUNNING,
                                          "attempt": row.attempt}])
    compiled = compiled_by_id(run.version_id)
    step = _Step(run=run, compiled=compiled, rows={}, now=now)
    nodes = {}
    if not getattr(compiled.types[row.node_id], "inputs_by_reference", False):
        # (A map reads neither its list nor earlier outputs: they stay in PostgreSQL.)
        nodes = {node_id: _node_data(compiled, node_id, outputs)
                 for node_id, outputs in claim.outputs.items() if outputs is not None}
    data = {"nodes": nodes, "vars": run.vars, "run": _run_data(run, compiled)}
    deferred: list[Callable[[], Any]] = []
    services = _deferring_services(deferred)
    started = time.monotonic()
    # The node's own clock (delays, "wait until"): PostgreSQL's, from the claim.
    services["now"] = lambda: now + timedelta(seconds=time.monotonic() - started)
    context = _make_context(step, row, data=data, services=services)
    with _lease_kept(node_run_id, holder):
        try:
            result: Outputs | Wait | NodeFailure = _invoke(compiled, row.node_id, context)
        except NodeFailure as failure:
            result = failure
        return _settle_result(row, result, deferred)


def _settle_result(row: NodeRun, result: Outputs | Wait | NodeFailure,
                   deferred: list[Callable[[], Any]]) -> str:
    """Commit a node's result; while the database is away (a restart, a dropped
    connection), keep the result here and try again every fraction of a second, the
    lease still renewed, so the node commits as soon as PostgreSQL is back and its side
    effect is never repeated. Gives up after WEFT_SETTLE_RETRY_S (the task is then
    delivered again and the node taken over as this process's own dead attempt)."""
    deadline = time.monotonic() + settings.WEFT_SETTLE_RETRY_S
    while True:
        try:
            return _complete(row, result, deferred)
        except DatabaseError as exc:
            if not db_error_is_transient(exc):
                raise
            logger.warning("could not settle node run %s: the database is away; keeping "
                           "its result until it is back", row.pk)
            connection.close()
            if not database_back(deadline=deadline):
                raise


def _database_answers() -> bool:
    """Whether PostgreSQL takes a new connection now (one attempt, a second at most,
    outside the pool)."""
    import psycopg

    params = connection.get_connection_params()
    keys = ("dbname", "user", "password", "host", "port", "sslmode")
    try:
        psycopg.connect(**{k: params[k] for k in keys if params.get(k) not in (None, "")},
                        connect_timeout=1).close()
    except psycopg.Error:
        return False
    return True


def database_back(*, deadline: float) -> bool:
    """Wait until PostgreSQL answers again (looking every 0.2 s), then start this
    process's connection pool afresh: the old one holds broken connections and waits
    between its own reconnection attempts (1, 2, 4, 8 s...). False at the deadline."""
    while not _database_answers():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    close_pool = getattr(connection, "close_pool", None)
    if close_pool is not None and connection.settings_dict["OPTIONS"].get("pool"):
        with suppress(KeyError, DatabaseError):
            close_pool()
    return True


def _claim_refused(node_run_id: int, *, holder: str) -> str | rows.Claim:
    """Why a delivery could not claim its node, acted on: the kill switch (the run
    pauses; the row stays queued and resuming sends it again), nothing to do, a live
    holder ("busy"), or a holder of this worker whose process is gone, or this very
    process when it no longer executes the node (a settle that failed for good): taken
    over at once."""
    target = NodeRun.objects.filter(pk=node_run_id).values("run_id", "run__workflow_id").first()
    if target is None:
        return "ignored"
    if engine_paused_reason(workflow_id=target["run__workflow_id"], fresh=True):
        if Run.objects.filter(pk=target["run_id"], status__in=[
                RunStatus.RUNNING, RunStatus.WAITING]).exists() and \
                _run_move(target["run_id"], RunStatus.PAUSED):
            events.publish_run(str(target["run_id"]), [{
                "event": "run", "run_id": str(target["run_id"]), "status": RunStatus.PAUSED}])
        return "paused"
    current = NodeRun.objects.filter(pk=node_run_id, status=NodeStatus.RUNNING).values_list(
        "worker", flat=True).first()
    if current is None:
        return "ignored"
    mine = current == holder and node_run_id not in _executing
    if not mine and _holder_alive(current, holder) is not False:
        return "busy"  # its worker is alive (or cannot be checked from here)
    # Its process is gone (same worker, so checked here), or it is this process's own
    # dead attempt: take over at once.
    return rows.node_run_claim(node_run_id, holder=holder, lease_s=settings.WEFT_NODE_LEASE_S,
                               dead_after_s=settings.WEFT_HOLDER_DEAD_S,
                               take_from=current) or "busy"


def worker_identity(worker: str = "") -> str:
    """This process as a lease holder: the Celery worker's name (one per machine and
    worker) and the pid of the process executing nodes."""
    return f"{worker or socket.gethostname()}#{os.getpid()}"[-200:]


def _holder_alive(current: str, me: str) -> bool | None:
    """Whether the process holding a node lives: known only when it belongs to the same
    worker as this process (same machine), else None and the lease decides."""
    name, _, pid = current.rpartition("#")
    if not name or name != me.rpartition("#")[0] or not pid.isdigit() or \
            int(pid) == os.getpid():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_executing: set[int] = set()  # node runs this process executes or settles now


@contextmanager
def _lease_kept(node_run_id: int, holder: str):
    """Renew the node's lease (from PostgreSQL's clock) every third of it while its
    code runs and its result settles (a thread with its own database connection); it
    stops when the node is settled or given up. A renewal that fails (the database
    away) is tried again at the next turn."""
    lease = settings.WEFT_NODE_LEASE_S
    stop = threading.Event()

    def renew() -> None:
        try:
            while not stop.wait(lease / 3):
                try:
                    rows.node_run_renew(node_run_id, holder=holder, lease_s=lease)
                except Exception:  # the lease may then lapse: a redelivery may take over
                    logger.warning("could not renew the lease of node run %s", node_run_id,
                                   exc_info=True)
                    connection.close()
        finally:
            connection.close()

    _executing.add(node_run_id)
    thread = threading.Thread(target=renew, name=f"weft-lease-{node_run_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        _executing.discard(node_run_id)
        stop.set()
        thread.join(timeout=5)


def _complete(row: NodeRun, result: Outputs | Wait | NodeFailure,
              deferred: Iterable[Callable[[], Any]] = ()) -> str:
    """Record a worker's result in a step; dropped when the run or node moved on.
    `deferred` writes (the audit of what the node did) go into the same transaction,
    or their own when the result is dropped: they happened either way.

    When PostgreSQL refuses the result itself (not the connection: see
    `db_error_is_transient`), the node fails at once with that reason: its side
    effect happened and must not be repeated by a redelivery."""
    try:
        try:
            return _complete_in_transaction(row, result, deferred)
        except DatabaseError as exc:
            if db_error_is_transient(exc) or isinstance(result, NodeFailure):
                raise
            logger.warning("node run %s: its result could not be stored", row.pk,
                           exc_info=True)
            failure = NodeFailure("unstorable_result", "The node finished but PostgreSQL "
                                  f"refused to store its result: {_db_reason(exc)}",
                                  retryable=False)
            return _complete_in_transaction(row, failure, deferred)
    except _Dropped:
        pass
    if deferred:
        with transaction.atomic():
            for write in deferred:
                write()
    return "dropped"


def _db_reason(exc: DatabaseError) -> str:
    diag = getattr(exc.__cause__, "diag", None)
    primary = getattr(diag, "message_primary", None) or str(exc).strip().split("\n")[0]
    detail = getattr(diag, "message_detail", None)
    return (f"{primary} ({detail})" if detail else primary or type(exc).__name__)[:300]


def _complete_in_transaction(row: NodeRun, result: Outputs | Wait | NodeFailure,
                             deferred: Iterable[Callable[[], Any]]) -> str:
    with transaction.atomic():
        outcome = _complete_locked(row, result)
        for write in deferred:
            write()
        return outcome


def _complete_locked(row: NodeRun, result: Outputs | Wait | NodeFailure) -> str:
    run = rows.run_lock(row.run_id)
    if run is None or run.status not in RUN_ACTIVE:
        return "dropped"
    step = _load_step(run)
    current = step.rows.get(row.node_id)
    if current is None or current.pk != row.pk or current.status != NodeStatus.RUNNING:
        return "dropped"
    step.paused = bool(engine_paused_reason(workflow_id=run.workflow_id))
    _apply_result(step, current, result)
    _pump(step)
    _settle(step)
    _flush(step)
    return current.status


def _deferring_services(deferred: list[Callable[[], Any]]) -> dict[str, Any]:
    """The node services, with the audit of inference calls held back to be written in
    the transaction that settles the node (one commit instead of two)."""
    services = dict(node_services())
    record = services.get("inference_record")
    if callable(record):
        services["inference_record"] = lambda **kwargs: deferred.append(
            functools.partial(record, **kwargs))
    return services


def node_run_resume(*, node_run_id: int, outputs: dict[str, Any] | None = None,
                    error: dict[str, str] | None = None) -> str:
    """Finish a waiting node (a timer came due, an approval was decided, a child run
    ended): with `outputs` (data from outside: checked and escaped, see apps.runs.refs;
    a JsonProblem names what cannot be kept), or failed with `error` {type, message}."""
    if outputs is not None:
        outputs = refs.admit(outputs, root="outputs")
    with transaction.atomic():
        row = NodeRun.objects.filter(pk=node_run_id).only("run_id").first()
        if row is None:
            return "dropped"
        run = rows.run_lock(row.run_id)
        if run is None or run.status not in RUN_ACTIVE:
            return "dropped"
        return _resume_locked(run, node_run_id, outputs, error)


def _resume_locked(run: Run, node_run_id: int, outputs, error) -> str:
    _bind(run)
    step = _load_step(run)
    current = next((r for r in step.rows.values() if r.pk == node_run_id), None)
    if current is None or current.status != NodeStatus.WAITING:
        return "dropped"
    step.paused = bool(engine_paused_reason(workflow_id=run.workflow_id))
    if error is not None:  # a failed wait follows the retry policy
        _apply_failure(step, current, NodeFailure(error["type"], error["message"]))
    else:
        state = current.state or {}
        if outputs is None:
            outputs = state.get("outputs") or state.get("payload", {}).get("outputs")
        if outputs is None:
            outputs = _passthrough(step, current).ports
        _change(step, current, NodeStatus.SUCCEEDED, outputs=outputs, finished_at=step.now)
    _deadline_after_wait(step, current)
    _pump(step)
    _settle(step)
    try:
        with transaction.atomic():
            _flush(step)
    except _Dropped:
        return "dropped"
    return current.status


def _deadline_after_wait(step: _Step, row: NodeRun) -> None:
    """A wait that does not count toward the run's time limit moves its deadline on by
    the time it took."""
    kind = engine_hooks.wait_kinds.get((row.state or {}).get("kind"))
    run = step.run
    if kind is None or not kind.pauses_deadline or run.deadline_at is None:
        return
    waited = step.now - (row.started_at or row.created_at or step.now)
    if waited.total_seconds() > 0:
        run.deadline_at = run.deadline_at + waited
        step.run_fields["deadline_at"] = run.deadline_at


# --- Sub-workflows and maps ---------------------------------------------------------------

def _published(workflow_id) -> tuple[Workflow, WorkflowVersion]:
    workflow = Workflow.objects.filter(pk=workflow_id, deleted_at__isnull=True).first()
    if workflow is None:
        raise NodeFailure("not_found", f"Workflow {workflow_id} does not exist.", False)
    version = workflow.versions.order_by("-number").first()
    if version is None:
        raise NodeFailure("not_published", f"Workflow {workflow.name!r} has no published "
                          "version.", False)
    return workflow, version


def _start_child(run: Run, row: NodeRun) -> None:
    """Start the child run of a sub-workflow node, in the same transaction that made
    the node wait (after its row is written). The parent's lock is held; the child
    resumes the parent node when it ends (`_child_finished`), maybe at once."""
    payload = row.state["payload"]
    try:
        workflow, version = _published(payload["workflow_id"])
    except NodeFailure as failure:
        _resume_locked(run, row.pk, None, failure.as_dict())
        return
    run_start(workflow=workflow, version=version, input=payload.get("input") or {},
              trigger="subworkflow", trace_id=run.trace_id, parent_node_run=row,
              check_paused=False, stored_input=True)


def _child_finished(child: Run, result: Any) -> None:
    """A child run ended: resume its parent node (sub-workflow) or its map item."""
    parent_row = NodeRun.objects.filter(pk=child.parent_node_run_id).only(
        "pk", "run_id", "state").first()
    if parent_row is None:
        return
    if (parent_row.state or {}).get("kind") == "map":
        MapItem.objects.filter(node_run_id=parent_row.pk, child_run=child).update(
            done=True, output=result,
            error=child.error if child.status != RunStatus.SUCCEEDED else None)
        transaction.on_commit(lambda: _enqueue("runs.map_progress", [parent_row.pk],
                                               queue="default"))
        return
    parent_run = rows.run_lock(parent_row.run_id)
    if parent_run is None or parent_run.status not in RUN_ACTIVE:
        return
    if child.status == RunStatus.SUCCEEDED:
        _resume_locked(parent_run, parent_row.pk, {"out": result}, None)
    else:
        message = (child.error or {}).get("message", "") or f"The child run {child.status}."
        _resume_locked(parent_run, parent_row.pk, None,
                       {"type": f"child_{child.status}", "message": message})


def _list_source(node_run_id: int) -> tuple[str, list[Any]] | tuple[None, int]:
    """Where the map's list lies: SQL giving the JSON value (following references to
    other rows), or (None, pk) when it is another map's result (its item rows)."""
    sql, params = "(SELECT inputs->'in' FROM runs_noderun WHERE id = %s)", [node_run_id]
    for _ in range(8):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT CASE WHEN jsonb_typeof(v) = 'object' AND v ? '{REF_KEY}' "
                           f"THEN v->'{REF_KEY}' END FROM (SELECT {sql} AS v) AS s", params)
            ref = cursor.fetchone()[0]
        if ref is None:
            break
        if "map" in ref:
            return None, int(ref["map"])
        field_name = "outputs" if ref.get("field") == "outputs" else "inputs"
        sql = f"(SELECT {field_name} -> %s FROM runs_noderun WHERE id = %s)"
        params = [str(ref["port"]), int(ref["node_run"])]
    return sql, params


def _map_begin(row: NodeRun) -> None:
    """Split the map node's list into item rows inside PostgreSQL: the list never
    passes through this process (nor does a list held by reference elsewhere)."""
    payload = row.state["payload"]
    chunk = int(payload.get("chunk_size") or 100)
    sql, params = _list_source(row.pk)
    with connection.cursor() as cursor:
        if sql is None:
            cursor.execute("SELECT 'array', count(*) FROM runs_mapitem WHERE node_run_id = %s",
                           [params])
        else:
            cursor.execute(f"SELECT jsonb_typeof(v), jsonb_array_length(CASE WHEN "
                           f"jsonb_typeof(v) = 'array' THEN v ELSE '[]' END) "
                           f"FROM (SELECT {sql} AS v) AS s", params)
        kind, total = cursor.fetchone()
    row.state = {**row.state, "total": total, "chunk_size": chunk, "started_chunks": 0}
    transaction.on_commit(lambda: _enqueue("runs.map_progress", [row.pk], queue="default"))
    if kind != "array":
        row.state["error"] = {"type": "invalid_input",
                              "message": f"A map needs a list on its input; it got {kind}."}
    NodeRun.objects.filter(pk=row.pk).update(state=row.state)
    if kind == "array" and total:
        with connection.cursor() as cursor:
            if sql is None:
                cursor.execute("INSERT INTO runs_mapitem (node_run_id, index, input, done) "
                               "SELECT %s, index, output, false FROM runs_mapitem "
                               "WHERE node_run_id = %s", [row.pk, params])
            else:
                cursor.execute(
                    "INSERT INTO runs_mapitem (node_run_id, index, input, done) "
                    "SELECT %s, t.ord - 1, t.value, false FROM "
                    f"jsonb_array_elements({sql}) WITH ORDINALITY AS t(value, ord)",
                    [row.pk, *params])


def map_progress(*, node_run_id: int) -> str:
    """Start more chunks while the concurrency limit allows; finish the map when
    every item is done (the results are gathered in order, inside PostgreSQL)."""
    with transaction.atomic():
        # Only the map's row is locked, never its run (NodeRun's default ordering would
        # join runs_run and lock that row too, before the row a step of the run locks
        # after it: a deadlock with the step that resumes the map).
        row = NodeRun.objects.select_for_update(of=("self",)).filter(pk=node_run_id).only(
            "pk", "status", "state").order_by("pk").first()
        if row is None or row.status != NodeStatus.WAITING:
            return "dropped"
        state = dict(row.state)
        if state.get("error"):
            transaction.on_commit(lambda: node_run_resume(node_run_id=node_run_id,
                                                          error=state["error"]))
            return "failed"
        total, size = state["total"], state["chunk_size"]
        chunks = (total + size - 1) // size
        started = state["started_chunks"]
        failed = MapItem.objects.filter(node_run_id=node_run_id, done=True,
                                        error__isnull=False).order_by("index").first()
        if failed is not None:
            error = {"type": "item_failed",
                     "message": f"Item {failed.index} failed: "
                                f"{(failed.error or {}).get('message', '')}"}
            transaction.on_commit(lambda: node_run_resume(node_run_id=node_run_id, error=error))
            return "failed"
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(DISTINCT index / %s) FROM runs_mapitem "
                           "WHERE node_run_id = %s AND NOT done AND index < %s",
                           [size, node_run_id, started * size])
            in_flight = cursor.fetchone()[0]
        if started >= chunks and in_flight == 0:
            if total > MAP_INLINE_MAX:
                # The results stay in their item rows; the output refers to them.
                outputs = {"out": refs.map_ref(node_run_id, total)}
                NodeRun.objects.filter(pk=node_run_id).update(
                    state={**state, "outputs": outputs})
            else:  # small: gathered inline (inside PostgreSQL), as the UI shows it
                with connection.cursor() as cursor:
                    cursor.execute(
                        "UPDATE runs_noderun SET state = state || jsonb_build_object("
                        "'outputs', jsonb_build_object('out', COALESCE((SELECT jsonb_agg("
                        "output ORDER BY index) FROM runs_mapitem WHERE node_run_id = %s), "
                        "'[]'::jsonb))) WHERE id = %s", [node_run_id, node_run_id])
            transaction.on_commit(lambda: node_run_resume(node_run_id=node_run_id))
            return "finished"
        concurrency = int(state["payload"].get("concurrency") or 4)
        to_start = list(range(started, min(chunks, started + concurrency - in_flight)))
        if to_start:
            state["started_chunks"] = started + len(to_start)
            NodeRun.objects.filter(pk=node_run_id).update(state=state)
            for index in to_start:
                transaction.on_commit(lambda i=index: _enqueue(
                    "runs.map_chunk", [node_run_id, i], queue="default"))
        return "progress"


MAP_BATCH = 50  # child runs written per bulk insert inside a chunk


def map_chunk_run(*, node_run_id: int, chunk: int) -> int:
    """Run one chunk of a map's items through the child workflow. Pure children run
    here, in memory, and are written in bulk; others go to workers like any run."""
    row = NodeRun.objects.select_related("run").defer("inputs", "outputs").filter(
        pk=node_run_id).first()
    if row is None or row.status != NodeStatus.WAITING or row.run.status not in RUN_ACTIVE:
        return 0
    _bind(row.run)
    state = row.state
    size = state["chunk_size"]
    try:
        workflow, version = _published(state["payload"]["workflow_id"])
    except NodeFailure as failure:
        node_run_resume(node_run_id=node_run_id, error=failure.as_dict())
        return 0
    compiled = compile_version(version)
    done = 0
    lo, hi = chunk * size, (chunk + 1) * size
    for batch_lo in range(lo, hi, MAP_BATCH):
        items = list(MapItem.objects.filter(node_run_id=node_run_id, done=False,
                                            index__gte=batch_lo,
                                            index__lt=min(hi, batch_lo + MAP_BATCH))
                     .order_by("index"))
        if not items:
            continue
        if compiled.all_pure:
            done += _map_inline_batch(row, workflow, version, compiled, items)
        else:
            for item in items:
                with transaction.atomic():
                    child = run_start(workflow=workflow, version=version, input=item.input,
                                      trigger="map", trace_id=row.run.trace_id,
                                      parent_node_run=row, check_paused=False,
                                      stored_input=True)
                    MapItem.objects.filter(pk=item.pk, done=False).update(child_run=child)
    _enqueue("runs.map_progress", [node_run_id], queue="default")
    return done


def _map_inline_batch(row: NodeRun, workflow, version, compiled: Compiled,
                      items: list[MapItem]) -> int:
    now = db_clock()
    runs, node_rows, updates = [], [], []
    for item in items:
        run = Run(id=uuid.uuid4(), workflow_id=workflow.pk, version_id=version.pk,
                  trigger="map", input=item.input if isinstance(item.input, dict)
                  else {"item": item.input}, status=RunStatus.QUEUED, created_at=now,
                  trace_id=row.run.trace_id, parent_run_id=row.run_id,
                  parent_node_run_id=row.pk, trigger_ref=f"map:{row.pk}:{item.index}",
                  vars=row.run.vars, deadline_at=now + timedelta(seconds=settings.WEFT_RUN_TIMEOUT_S))
        step = _Step(run=run, compiled=compiled, rows={}, now=now, is_new_run=True)
        _begin(step)
        runs.append(run)
        node_rows.extend(step.new)
        item.child_run_id = run.pk
        item.done = True
        if run.status == RunStatus.SUCCEEDED:
            item.output = _run_result(step)
        else:
            item.error = run.error or {"type": "child_" + run.status,
                                       "message": "The item's run did not finish inline."}
        updates.append(item)
    with transaction.atomic():
        Run.objects.bulk_create(runs)
        NodeRun.objects.bulk_create(node_rows)
        MapItem.objects.bulk_update(updates, ["child_run", "done", "output", "error"])
    return len(items)


# --- Cancel, retry, kill switch ---------------------------------------------------------

def run_cancel(*, run: Run, user=None) -> Run:
    """Stop a run: open nodes are cancelled, nothing new starts, late results are dropped.
    Child runs (sub-workflows, map items) in flight are cancelled too."""
    with transaction.atomic():
        locked = rows.run_lock(run.pk)
        if locked.status in RUN_FINISHED:
            raise Unprocessable(f"The run has already {locked.status}.", code="run_finished",
                                status_code=409)
        _cancel_locked(locked)
        audit_record(action="run.cancel", actor=user, target=locked, run_id=str(run.pk),
                     data={"status_before": locked.status})
    return Run.objects.get(pk=run.pk)


def _cancel_locked(run: Run) -> None:
    now = db_clock()
    open_rows = list(NodeRun.objects.filter(run=run, status__in=NODE_OPEN).only(
        "node_id", "attempt"))
    _node_move(NodeRun.objects.filter(run=run, status__in=NODE_OPEN), NodeStatus.CANCELLED,
               finished_at=now)
    error = {"type": "cancelled", "message": "The run was cancelled."}
    if not _run_move(run.pk, RunStatus.CANCELLED, finished_at=now, error=error):
        return
    _run_reached(run, RunStatus.CANCELLED)
    metrics.RUNS_FINISHED.labels(str(run.workflow_id), RunStatus.CANCELLED).inc()
    evts = [{"event": "node", "run_id": str(run.pk), "node_id": r.node_id,
             "status": NodeStatus.CANCELLED, "attempt": r.attempt} for r in open_rows]
    evts.append({"event": "run", "run_id": str(run.pk), "status": RunStatus.CANCELLED,
                 "error": error})
    transaction.on_commit(lambda: events.publish_run(str(run.pk), evts))
    # Child runs are cancelled after this commit, each in its own transaction: locking
    # them under the parent's lock would invert the order of a child's step, which
    # locks the child and then its parent (to resume it). The sweep cancels any child
    # that outlives its parent here (a process lost before this ran).
    transaction.on_commit(lambda: _cancel_children(run.pk))
    if run.parent_run_id is None:
        wf = run.workflow_id
        transaction.on_commit(lambda: _enqueue("runs.start_queued", [str(wf)]))


def _cancel_children(run_id) -> int:
    """Cancel the child runs in flight of a run that ended (sub-workflows, map items)."""
    cancelled = 0
    for child_id in Run.objects.filter(parent_run_id=run_id, status__in=(
            RunStatus.QUEUED, *RUN_ACTIVE)).values_list("pk", flat=True):
        with transaction.atomic():
            child = rows.run_lock(child_id)
            if child is not None and child.status in (RunStatus.QUEUED, *RUN_ACTIVE):
                _cancel_locked(child)
                cancelled += 1
    return cancelled


def run_retry(*, run: Run, user=None) -> Run:
    """Run a failed run again from its failed (and cancelled) nodes; outputs of the
    nodes that succeeded are kept."""
    reason = engine_paused_reason(workflow_id=run.workflow_id)
    if reason:
        raise Unprocessable(reason, code="paused", status_code=423)
    with transaction.atomic():
        locked = rows.run_lock(run.pk)
        if locked.status != RunStatus.FAILED:
            raise Unprocessable(f"Only a failed run can be retried; this one is "
                                f"{locked.status}.", code="not_failed", status_code=409)
        _bind(locked)
        step = _load_step(locked)
        for node_id, row in list(step.rows.items()):
            if row.status in (NodeStatus.FAILED, NodeStatus.CANCELLED):
                retry = _new_row(step, node_id, status=NodeStatus.PENDING,
                                 attempt=row.attempt + 1, inputs=row.inputs)
                step.node_event(retry)
        _set_run_status(step, RunStatus.RUNNING, error=None, finished_at=None,
                        deadline_at=step.now + timedelta(seconds=settings.WEFT_RUN_TIMEOUT_S))
        _pump(step)
        _settle(step)
        _flush(step)
        audit_record(action="run.retry", actor=user, target=locked, run_id=str(run.pk),
                     data={"nodes": sorted(r.node_id for r in step.new if r.attempt > 1)})
    return Run.objects.get(pk=run.pk)


def engine_pause(*, workflow: Workflow | None = None, user=None, reason: str = ""
                 ) -> EngineSwitch:
    """The kill switch: refuse new runs of one workflow (or all) and stop dispatching
    the nodes of runs in flight; `engine_resume` lets them go on."""
    switch, _ = EngineSwitch.objects.update_or_create(
        workflow=workflow, defaults={"paused": True, "reason": reason, "changed_by": user})
    _switch_cache.clear()
    audit_record(action="engine.pause", actor=user, target=workflow,
                 data={"scope": str(workflow.pk) if workflow else "all", "reason": reason})
    return switch


def engine_resume(*, workflow: Workflow | None = None, user=None) -> EngineSwitch:
    switch, _ = EngineSwitch.objects.update_or_create(
        workflow=workflow, defaults={"paused": False, "reason": "", "changed_by": user})
    _switch_cache.clear()
    audit_record(action="engine.resume", actor=user, target=workflow,
                 data={"scope": str(workflow.pk) if workflow else "all"})
    runs_resume_paused()
    return switch


def runs_resume_paused(limit: int = 200) -> int:
    """Paused runs whose workflow is no longer paused go on where they stopped."""
    resumed = 0
    ids = list(Run.objects.filter(status=RunStatus.PAUSED).order_by("created_at")
               .values_list("pk", "workflow_id")[:limit])
    for run_id, workflow_id in ids:
        if engine_paused_reason(workflow_id=workflow_id):
            continue
        with transaction.atomic():
            run = rows.run_lock(run_id)
            if run is None or run.status != RunStatus.PAUSED:
                continue
            _bind(run)
            step = _load_step(run)
            for row in step.rows.values():
                if row.status == NodeStatus.QUEUED:  # its message was refused while paused
                    step.dispatch.append(row)
            _pump(step)
            _settle(step)
            _flush(step)
            resumed += 1
    return resumed


# --- The sweep: due times, stale queues, deadlines ---------------------------------------

def dispatch_job(*, version_id: int, node_id: str, pk: int) -> tuple[int, str, float | None]:
    """(pk, queue, timeout) of a node run, as `dispatch_node_runs` takes it."""
    compiled = compiled_by_id(version_id)
    return (pk, compiled.types[node_id].queue or "default",
            _policy(compiled.configs[node_id]).timeout_s)


def _dispatch_again(row: NodeRun) -> None:
    """Send a node run to its queue once more (the sweep's safety net)."""
    dispatch_node_runs([dispatch_job(version_id=row.run.version_id, node_id=row.node_id,
                                     pk=row.pk)], trace_id=row.run.trace_id)


def runs_sweep(*, now: datetime | None = None, batch: int = 500) -> dict[str, int]:
    """Everything that is due (called every second by beat, on the maintenance queue).
    Due times are compared with PostgreSQL's clock (`now` only in tests)."""
    now = now or rows.db_now()
    counts = {"due": 0, "timers": 0, "requeued": 0, "orphans": 0, "deadlines": 0,
              "resumed": 0}
    # Pending rows whose time came (retries): one step per run.
    due_runs = set(NodeRun.objects.filter(status=NodeStatus.PENDING, due_at__lte=now,
                                          run__status__in=[RunStatus.RUNNING,
                                                           RunStatus.WAITING])
                   .values_list("run_id", flat=True)[:batch])
    for run_id in due_runs:
        with transaction.atomic():
            run = rows.run_lock(run_id)
            if run is None or run.status not in (RunStatus.RUNNING, RunStatus.WAITING):
                continue
            _bind(run)
            step = _load_step(run, now=now)
            step.paused = bool(engine_paused_reason(workflow_id=run.workflow_id))
            _pump(step)
            _settle(step)
            try:
                with transaction.atomic():
                    _flush(step)
                    counts["due"] += 1
            except _Dropped:
                pass
    # Timers: waiting rows with a due time go on with their outputs.
    for pk in NodeRun.objects.filter(status=NodeStatus.WAITING, due_at__lte=now).values_list(
            "pk", flat=True)[:batch]:
        if node_run_resume(node_run_id=pk) != "dropped":
            counts["timers"] += 1
    # Queued rows whose message never arrived (a broker outage): send them again.
    stale = now - timedelta(seconds=settings.WEFT_REQUEUE_AFTER_S)
    stale_rows = list(NodeRun.objects.filter(status=NodeStatus.QUEUED, queued_at__lt=stale,
                                             run__status=RunStatus.RUNNING)
                      .select_related("run").only("pk", "node_id", "run__version_id",
                                                  "run__trace_id")[:batch])
    for row in stale_rows:
        if NodeRun.objects.filter(pk=row.pk, status=NodeStatus.QUEUED,
                                  queued_at__lt=stale).update(queued_at=now):
            _dispatch_again(row)
            counts["requeued"] += 1
    # Running rows whose lease lapsed long ago: their worker is gone and no message is
    # left to take them over (e.g. a whole worker machine lost). Send them again; the
    # lapsed lease lets the next delivery claim them.
    lapsed = now - timedelta(seconds=settings.WEFT_REQUEUE_AFTER_S)
    lost_rows = list(NodeRun.objects.filter(status=NodeStatus.RUNNING, lease_until__lt=lapsed,
                                            run__status=RunStatus.RUNNING)
                     .select_related("run").only("pk", "node_id", "lease_until",
                                                 "run__version_id", "run__trace_id")[:batch])
    for row in lost_rows:
        if NodeRun.objects.filter(pk=row.pk, status=NodeStatus.RUNNING,
                                  lease_until=row.lease_until).update(lease_until=now):
            _dispatch_again(row)
            counts["requeued"] += 1
    # Child runs still in flight under a parent that ended (cancelled, failed).
    for parent_id in (Run.objects.filter(status__in=(RunStatus.QUEUED, *RUN_ACTIVE),
                                         parent_run__status__in=RUN_FINISHED)
                      .values_list("parent_run_id", flat=True).distinct()[:batch]):
        counts["orphans"] += _cancel_children(parent_id)
    # Runs past their deadline fail.
    # Time waiting on a person does not count (engine_hooks: pauses_deadline): such a
    # run is not failed while it waits, and its deadline moves on when it resumes.
    waiting_on_people = NodeRun.objects.filter(
        run_id=OuterRef("pk"), status=NodeStatus.WAITING,
        state__kind__in=engine_hooks.deadline_paused_kinds())
    for run_id in Run.objects.filter(status__in=RUN_ACTIVE, deadline_at__lt=now).exclude(
            Exists(waiting_on_people)).values_list("pk", flat=True)[:batch]:
        with transaction.atomic():
            run = rows.run_lock(run_id)
            if run is None or run.status not in RUN_ACTIVE:
                continue
            step = _load_step(run, now=now)
            for row in step.rows.values():
                if row.status in NODE_OPEN:
                    _change(step, row, NodeStatus.CANCELLED, finished_at=now)
            _set_run_status(step, RunStatus.FAILED, finished_at=now, error={
                "type": "timeout", "message": "The run passed its time limit."})
            _flush(step)
            counts["deadlines"] += 1
    counts["resumed"] = runs_resume_paused()
    counts["receipts"] = replay.receipts_sweep()
    from apps.runs import triggers

    counts["schedules"] = triggers.schedules_sweep(now=now)
    for workflow_id in (Run.objects.filter(status=RunStatus.QUEUED, parent_run__isnull=True)
                        .values_list("workflow_id", flat=True).distinct()[:50]):
        runs_start_queued(workflow_id=workflow_id)
    return counts
