"""A worker's side of a node: claim it (compare-and-set, a lease from PostgreSQL's
clock, renewed while its code runs), execute it, and settle its result in a step;
what a delivery does when the node is taken, paused or its holder is gone."""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from apps.core.db import database_back, db_error_is_transient
from apps.nodes.base import NodeContext, Outputs, Wait
from apps.runs import events, metrics, rows
from apps.runs.models import NodeRun, NodeStatus, Run, RunStatus
from apps.runs.node_services import node_services
from apps.runs.services.advance import advance, decide_run_status, write_step
from apps.runs.services.execution import (
    NodeFailure,
    apply_result,
    invoke,
    make_context,
)
from apps.runs.services.plans import Compiled, compiled_by_id
from apps.runs.services.runtime import engine_paused_reason
from apps.runs.services.step import (
    Outcome,
    Step,
    StepOutdated,
    log_context_bind,
    node_data,
    run_data,
    step_load,
)
from apps.runs.services.transitions import RUN_ACTIVE, run_move

logger = logging.getLogger("weft.runs")


def node_run_execute(*, node_run_id: int, worker: str = "") -> str:
    """Run one queued node (a Celery delivery). Returns what happened, for logs/tests.
    Leases and the step's `now` come from PostgreSQL's clock, never this process's."""
    if not node_run_take(node_run_id):
        return Outcome.BUSY  # another delivery of this process executes it now
    try:
        claimed = node_run_claim(node_run_id=node_run_id, worker=worker)
        if isinstance(claimed, str):
            return claimed
        return node_run_finish(claimed=claimed)
    finally:
        node_run_let_go(node_run_id)


def node_run_finish(*, claimed: Claimed) -> str:
    """Execute a claimed node here, its lease kept meanwhile, and settle its result."""
    with lease_kept(claimed.row.pk, claimed.holder):
        try:
            result: Outputs | Wait | NodeFailure = invoke(claimed.compiled,
                                                          claimed.row.node_id, claimed.context)
        except NodeFailure as failure:
            result = failure
        return node_run_settle(claimed=claimed, result=result)


@dataclass
class Claimed:
    """A node run this process claimed (its lease held by `holder`), with what its code
    needs: the compiled plan, its context, and the writes held back for its settle."""

    row: NodeRun
    compiled: Compiled
    context: NodeContext
    deferred: list[Callable[[], Any]]
    holder: str


def node_run_claim(*, node_run_id: int, worker: str = "") -> str | Claimed:
    """Claim a queued node for this process and prepare its context; or why not (an
    Outcome), or its quarantine settled ("failed"). The caller has the node in hand
    (`node_run_take`) until it is settled; it executes it while its lease is kept, then
    `node_run_settle`s it (apps.runs.io_executor does so around an awaited call)."""
    holder = worker_identity(worker)
    # The common case in one statement: claim the row (queued, or running with a lapsed
    # lease or a holder that stopped beating: its worker died) with compare-and-set,
    # and read the row, its run and the earlier outputs it may read.
    claim = rows.node_run_claim(node_run_id, holder=holder, lease_s=settings.WEFT_NODE_LEASE_S,
                                dead_after_s=settings.WEFT_HOLDER_DEAD_S)
    if claim is None:
        outcome = claim_refused(node_run_id, holder=holder)
        if isinstance(outcome, str):
            return outcome
        claim = outcome
    row = claim.row
    run = row.run
    now = claim.now
    log_context_bind(run)
    if row.delivery_count > settings.WEFT_MAX_DELIVERIES:
        metrics.QUARANTINED.labels(row.node_type).inc()
        died = row.delivery_count - 1  # this delivery found the node, it did not run it
        failure = NodeFailure("quarantined", f"Node {row.node_id!r} was started {died} "
                              f"time{'s' if died != 1 else ''} and its worker died each time; "
                              "it is quarantined and the run fails.", retryable=False)
        return record_result(row, failure)
    if row.delivery_count == 1:
        started = {"event": "node", "run_id": str(run.pk), "node_id": row.node_id,
                   "status": NodeStatus.RUNNING, "attempt": row.attempt}
        if claim.event_seq is not None:  # numbered by the claim (else when published)
            started["seq"] = claim.event_seq
        events.publish_run(str(run.pk), [started])
    compiled = compiled_by_id(run.version_id, run.workflow_id)
    step = Step(run=run, compiled=compiled, rows={}, now=now)
    nodes = {}
    if not getattr(compiled.types[row.node_id], "inputs_by_reference", False):
        # (A map reads neither its list nor earlier outputs: they stay in PostgreSQL.)
        nodes = {node_id: node_data(compiled, node_id, outputs)
                 for node_id, outputs in claim.outputs.items() if outputs is not None}
    data = {"nodes": nodes, "vars": run.vars, "run": run_data(run, compiled)}
    deferred: list[Callable[[], Any]] = []
    services = deferring_services(deferred)
    started = time.monotonic()
    # The node's own clock (delays, "wait until"): PostgreSQL's, from the claim.
    services["now"] = lambda: now + timedelta(seconds=time.monotonic() - started)
    context = make_context(step, row, data=data, services=services)
    return Claimed(row=row, compiled=compiled, context=context, deferred=deferred,
                   holder=holder)


def node_run_settle(*, claimed: Claimed, result: Outputs | Wait | NodeFailure) -> str:
    """Commit the result of a claimed node (see `record_result_retrying`)."""
    return record_result_retrying(claimed.row, result, claimed.deferred)


def record_result_retrying(row: NodeRun, result: Outputs | Wait | NodeFailure,
                   deferred: list[Callable[[], Any]]) -> str:
    """Commit a node's result; while the database is away (a restart, a dropped
    connection), keep the result here and try again every fraction of a second, the
    lease still renewed, so the node commits as soon as PostgreSQL is back and its side
    effect is never repeated. Gives up after WEFT_SETTLE_RETRY_S (the task is then
    delivered again and the node taken over as this process's own dead attempt)."""
    deadline = time.monotonic() + settings.WEFT_SETTLE_RETRY_S
    while True:
        try:
            return record_result(row, result, deferred)
        except DatabaseError as exc:
            if not db_error_is_transient(exc):
                raise
            logger.warning("could not settle node run %s: the database is away; keeping "
                           "its result until it is back", row.pk)
            if not database_back(deadline=deadline):
                raise


def claim_refused(node_run_id: int, *, holder: str) -> str | rows.Claim:
    """Why a delivery could not claim its node, acted on: the kill switch (the run
    pauses; the row stays queued and resuming sends it again), nothing to do, a live
    holder ("busy"), or a holder of this worker whose process is gone, or this very
    process when it no longer executes the node (a settle that failed for good): taken
    over at once."""
    target = NodeRun.objects.filter(pk=node_run_id).values("run_id", "run__workflow_id").first()
    if target is None:
        return Outcome.IGNORED
    if engine_paused_reason(workflow_id=target["run__workflow_id"], fresh=True):
        if Run.objects.filter(pk=target["run_id"], status__in=[
                RunStatus.RUNNING, RunStatus.WAITING]).exists() and \
                run_move(target["run_id"], RunStatus.PAUSED):
            events.publish_run(str(target["run_id"]), [{
                "event": "run", "run_id": str(target["run_id"]), "status": RunStatus.PAUSED}])
        return Outcome.PAUSED
    current = NodeRun.objects.filter(pk=node_run_id, status=NodeStatus.RUNNING).values_list(
        "worker", flat=True).first()
    if current is None:
        return Outcome.IGNORED
    # This delivery has the node in hand (`node_run_take`), so no other delivery of
    # this process executes it: held by this process's name, it is a dead attempt.
    mine = current == holder
    if not mine and holder_alive(current, holder) is not False:
        return Outcome.BUSY  # its worker is alive (or cannot be checked from here)
    # Its process is gone (same worker, so checked here), or it is this process's own
    # dead attempt: take over at once.
    return rows.node_run_claim(node_run_id, holder=holder, lease_s=settings.WEFT_NODE_LEASE_S,
                               dead_after_s=settings.WEFT_HOLDER_DEAD_S,
                               take_from=current) or Outcome.BUSY


def worker_identity(worker: str = "") -> str:
    """This process as a lease holder: the Celery worker's name (one per machine and
    worker) and the pid of the process executing nodes."""
    return f"{worker or socket.gethostname()}#{os.getpid()}"[-200:]


def holder_alive(current: str, me: str) -> bool | None:
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


_in_hand: set[int] = set()  # node runs a delivery of this process claims, executes or settles
_in_hand_lock = threading.Lock()


def node_run_take(node_run_id: int) -> bool:
    """Have a node run in hand in this process, from before its claim until it is
    settled or given up (also while its call is awaited on the I/O executor's loop);
    False when another delivery of this process has it: a message sent again while
    the node runs here must not claim it as this process's dead attempt."""
    with _in_hand_lock:
        if node_run_id in _in_hand:
            return False
        _in_hand.add(node_run_id)
        return True


def node_run_let_go(node_run_id: int) -> None:
    with _in_hand_lock:
        _in_hand.discard(node_run_id)


@contextmanager
def lease_kept(node_run_id: int, holder: str):
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

    thread = threading.Thread(target=renew, name=f"weft-lease-{node_run_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def record_result(row: NodeRun, result: Outputs | Wait | NodeFailure,
              deferred: Iterable[Callable[[], Any]] = ()) -> str:
    """Record a worker's result in a step; dropped when the run or node moved on.
    `deferred` writes (the audit of what the node did) go into the same transaction,
    or their own when the result is dropped: they happened either way.

    When PostgreSQL refuses the result itself (not the connection: see
    `db_error_is_transient`), the node fails at once with that reason: its side
    effect happened and must not be repeated by a redelivery."""
    try:
        try:
            return _record_in_transaction(row, result, deferred)
        except DatabaseError as exc:
            if db_error_is_transient(exc) or isinstance(result, NodeFailure):
                raise
            logger.warning("node run %s: its result could not be stored", row.pk,
                           exc_info=True)
            failure = NodeFailure("unstorable_result", "The node finished but PostgreSQL "
                                  f"refused to store its result: {_db_reason(exc)}",
                                  retryable=False)
            return _record_in_transaction(row, failure, deferred)
    except StepOutdated:
        pass
    if deferred:
        with transaction.atomic():
            for write in deferred:
                write()
    return Outcome.DROPPED


def _db_reason(exc: DatabaseError) -> str:
    diag = getattr(exc.__cause__, "diag", None)
    primary = getattr(diag, "message_primary", None) or str(exc).strip().split("\n")[0]
    detail = getattr(diag, "message_detail", None)
    return (f"{primary} ({detail})" if detail else primary or type(exc).__name__)[:300]


def _record_in_transaction(row: NodeRun, result: Outputs | Wait | NodeFailure,
                             deferred: Iterable[Callable[[], Any]]) -> str:
    with transaction.atomic():
        outcome = _record_locked(row, result)
        for write in deferred:
            write()
        return outcome


def _record_locked(row: NodeRun, result: Outputs | Wait | NodeFailure) -> str:
    run = rows.run_lock(row.run_id)
    if run is None or run.status not in RUN_ACTIVE:
        return Outcome.DROPPED
    step = step_load(run)
    current = step.rows.get(row.node_id)
    if current is None or current.pk != row.pk or current.status != NodeStatus.RUNNING:
        return Outcome.DROPPED
    step.paused = bool(engine_paused_reason(workflow_id=run.workflow_id))
    apply_result(step, current, result)
    advance(step)
    decide_run_status(step)
    write_step(step)
    return current.status


def deferring_services(deferred: list[Callable[[], Any]]) -> dict[str, Any]:
    """The node services, with the audit of inference calls held back to be written in
    the transaction that settles the node (one commit instead of two)."""
    services = dict(node_services())
    record = services.get("inference_record")
    if callable(record):
        services["inference_record"] = lambda **kwargs: deferred.append(
            functools.partial(record, **kwargs))
    return services
