"""Executing a node: its context, the call of its code, what it gave (outputs, a wait,
a failure), and the failure policy (retry with backoff, error port, default output).
Used by a step for inline (pure) nodes and by a worker for the others."""

from __future__ import annotations

import dataclasses
import logging
import random
import time
import traceback
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import DatabaseError, connection

from apps.audit.personal import personal_scope
from apps.audit.redaction import SecretScrubber, secret_scope
from apps.core.inbound import clean_text
from apps.nodes.base import ERROR_PORT, ExecutionPolicy, NodeContext, NodeError, Outputs, Wait
from apps.privacy.selectors import masker_for, policy_get
from apps.runs import metrics, refs
from apps.runs.engine_hooks import engine_hooks
from apps.runs.models import NodeRun, NodeStatus, Run, RunStatus
from apps.runs.node_services import node_services
from apps.runs.services.plans import Compiled
from apps.runs.services.step import Step, context_data, new_row, set_node_status

logger = logging.getLogger("weft.runs")


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
UNHANDLED_FAILURES = frozenset({"cancelled", "quarantined"})


def stop_check(run_id) -> Any:
    last = {"at": 0.0, "value": False}

    def check() -> bool:
        now = time.monotonic()
        if now - last["at"] > 0.5:
            last["at"] = now
            try:
                status = Run.objects.filter(pk=run_id).values_list("status", flat=True).first()
            except DatabaseError:  # the database away: go on; recording the result finds out
                connection.close()
                return last["value"]
            last["value"] = status not in (RunStatus.RUNNING, RunStatus.WAITING)
        return last["value"]

    return check


def policy_of(config: Any) -> ExecutionPolicy:
    policy = getattr(config, "policy", None)
    return policy if isinstance(policy, ExecutionPolicy) else ExecutionPolicy()


def invoke(compiled: Compiled, node_id: str, context: NodeContext) -> Outputs | Wait:
    """Call a node type's code; every failure comes back as a NodeFailure. Credential
    values handed out meanwhile are masked in what comes back and in log lines
    (apps.audit.redaction.secret_scope); the run's personal data is masked in log lines
    and audit payloads written meanwhile (apps.audit.personal.personal_scope)."""
    with secret_scope() as scope, personal_scope(personal_masker(compiled, context)):
        result = _invoke_scoped(compiled, node_id, context, scope)
        if isinstance(result, Outputs):
            return Outputs(scope.scrub(result.ports))
        result.payload = scope.scrub(result.payload)
        return result


def personal_masker(compiled: Compiled, context: NodeContext):
    """The run's personal data as a node sees it (None: the workflow declares none)."""
    policy = policy_get(workflow_id=compiled.workflow_id)
    if not policy:
        return None
    return masker_for(policy=policy, run_input=(context.run or {}).get("input"),
                      node_outputs={node_id: entry.get("outputs") for node_id, entry
                                    in (context.nodes or {}).items()})


def _invoke_scoped(compiled: Compiled, node_id: str, context: NodeContext,
                   scope: SecretScrubber) -> Outputs | Wait:
    node_type = compiled.types[node_id]
    started = time.perf_counter()
    try:
        result = compiled.instances[node_id].execute(context, compiled.configs[node_id])
    except NodeFailure:
        raise
    except Exception as exc:
        raise node_failure(compiled, node_id, exc, scope) from exc
    finally:
        metrics.NODE_DURATION.labels(node_type.type).observe(time.perf_counter() - started)
    return node_result_checked(compiled, node_id, result)


def node_failure(compiled: Compiled, node_id: str, exc: Exception,
                 scope: SecretScrubber) -> NodeFailure:
    """What an exception raised by a node's code means to the engine (its values
    masked by `scope`)."""
    from celery.exceptions import SoftTimeLimitExceeded

    if isinstance(exc, NodeFailure):
        return exc
    if isinstance(exc, NodeError):  # a node's declared failure: its type and whether to retry
        return NodeFailure(exc.type, scope.text(exc.message), exc.retryable,
                           details=scope.scrub(exc.details), retry_after_s=exc.retry_after_s)
    if isinstance(exc, SoftTimeLimitExceeded):
        return node_timeout(compiled, node_id)
    # A node's own failure, whatever it is, is stored on its row.
    logger.info("node failed", extra={"node_id": node_id, "error": repr(exc),
                                       "trace": "".join(traceback.format_exception(
                                           exc, limit=5))})
    return NodeFailure(exc.__class__.__name__, scope.text(str(exc) or repr(exc)))


def node_timeout(compiled: Compiled, node_id: str) -> NodeFailure:
    """The failure of a node that ran past its policy's time limit."""
    return NodeFailure("timeout", "The node ran past its timeout of "
                       f"{policy_of(compiled.configs[node_id]).timeout_s} s.")


def node_result_checked(compiled: Compiled, node_id: str, result: Any) -> Outputs | Wait:
    """A node's result, or the NodeFailure raised when it is not one the engine takes."""
    node_type = compiled.types[node_id]
    if not isinstance(result, Outputs | Wait):
        raise NodeFailure("invalid_result", f"Node type {node_type.type} returned "
                          f"{type(result).__name__}, not Outputs or Wait.")
    if isinstance(result, Outputs):
        unknown = set(result.ports) - node_type.output_names(compiled.configs[node_id])
        if unknown:
            raise NodeFailure("invalid_result", f"Node type {node_type.type} fired unknown "
                              f"output port(s) {sorted(unknown)}.")
    return result


def make_context(step: Step, row: NodeRun, *, data: dict[str, Any] | None = None,
                  services: dict[str, Any] | None = None) -> NodeContext:
    data = data if data is not None else context_data(step)
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
                       services=services or node_services(), should_stop=stop_check(step.run.pk),
                       input_ports=step.compiled.input_ports[row.node_id])


def apply_result(step: Step, row: NodeRun, result: Outputs | Wait | NodeFailure) -> None:
    """Record what a node's execution gave (the row is running)."""
    if isinstance(result, NodeFailure):
        apply_failure(step, row, result)
        return
    try:  # what a node gives is data from outside: checked and escaped (apps.runs.refs)
        if isinstance(result, StoredOutputs):
            ports = result.ports
        elif isinstance(result, Wait):
            result = dataclasses.replace(result, payload=refs.admit(result.payload,
                                                                    root="payload"))
        else:
            ports = refs.admit(dict(result.ports), root="outputs")
    except refs.JsonProblem as problem:
        apply_failure(step, row, NodeFailure(
            "invalid_output", f"Node {row.node_id!r} gave data that cannot be stored: "
            f"{problem.path} {problem.message}.", retryable=False))
        return
    if isinstance(result, Wait):
        apply_wait(step, row, result)
        return
    set_node_status(step, row, NodeStatus.SUCCEEDED, outputs=ports, finished_at=step.now)
    keep_response(step, row, ports)


def keep_response(step: Step, row: NodeRun, ports: dict[str, Any]) -> None:
    """A node that answers a `respond` webhook leaves its output as the run's answer."""
    if getattr(step.compiled.types[row.node_id], "responds", False):
        step.run.response = ports.get(step.compiled.first_output[row.node_id])
        step.run_fields["response"] = step.run.response


def apply_failure(step: Step, row: NodeRun, failure: NodeFailure) -> None:
    """Retry (a due-time row), continue (error port / default output) or fail."""
    policy = policy_of(step.compiled.configs[row.node_id])
    node_type = step.compiled.types[row.node_id]
    default_port = step.compiled.default_output[row.node_id]
    error = failure.as_dict()
    handled = failure.type not in UNHANDLED_FAILURES
    if handled and failure.retryable and row.attempt <= policy.retries:
        set_node_status(step, row, NodeStatus.FAILED, error=error, finished_at=step.now)
        metrics.RETRIES.labels(node_type.type).inc()
        retry = new_row(step, row.node_id, status=NodeStatus.PENDING, attempt=row.attempt + 1,
                         inputs=row.inputs, due_at=step.now + timedelta(
                             seconds=retry_delay_s(policy, row.attempt, failure.retry_after_s)))
        step.node_event(retry)
    elif handled and policy.on_error == "error_port" and row.node_id in step.compiled.error_wired:
        set_node_status(step, row, NodeStatus.SUCCEEDED, error=error, finished_at=step.now,
                outputs={ERROR_PORT: {**error, "input": next(iter(row.inputs.values()), None)}})
    elif handled and policy.on_error == "default_output" and default_port:
        value = step.compiled.instances[row.node_id].default_output_value(
            step.compiled.configs[row.node_id], policy.default_output)
        ports = {default_port: refs.escape(value)}
        set_node_status(step, row, NodeStatus.SUCCEEDED, error=error, finished_at=step.now,
                        outputs=ports)
        keep_response(step, row, ports)
    else:
        set_node_status(step, row, NodeStatus.FAILED, error=error, finished_at=step.now)


def retry_delay_s(policy: ExecutionPolicy, attempt: int, retry_after_s: float | None) -> float:
    """Seconds before try `attempt + 1`: the backoff doubles from `backoff_s` up to
    `backoff_max_s`, with jitter (half to all of it), and is never shorter than what
    the remote side asked for (Retry-After, itself capped at a day)."""
    delay = min(policy.backoff_max_s, policy.backoff_s * 2 ** (attempt - 1))
    delay *= random.uniform(0.5, 1.0)
    if retry_after_s is not None and retry_after_s > 0:
        delay = max(delay, min(retry_after_s, 86400.0))
    return delay


def apply_wait(step: Step, row: NodeRun, wait: Wait) -> None:
    state = {"kind": wait.kind, "payload": wait.payload}
    set_node_status(step, row, NodeStatus.WAITING, due_at=wait.until, state=state)
    kind = engine_hooks.wait_kinds.get(wait.kind)
    if kind is not None and kind.on_wait is not None:
        step.waits.append((row, wait.payload))


class StoredOutputs(Outputs):
    """Outputs the engine made from stored data (a disabled node's input passed on,
    references included): kept as they are, never escaped again."""


def passthrough(step: Step, row: NodeRun) -> Outputs:
    first = step.compiled.first_output[row.node_id]
    value = next(iter(row.inputs.values()), None)
    return StoredOutputs({first: value} if first else {})


def execute_inline(step: Step, row: NodeRun, data: dict[str, Any]) -> None:
    set_node_status(step, row, NodeStatus.RUNNING, started_at=step.now,
            delivery_count=row.delivery_count + 1)
    if step.compiled.nodes[row.node_id].get("disabled"):
        result: Outputs | Wait | NodeFailure = passthrough(step, row)
    else:
        try:
            result = invoke(step.compiled, row.node_id, make_context(step, row, data=data))
        except NodeFailure as failure:
            result = failure
    apply_result(step, row, result)
