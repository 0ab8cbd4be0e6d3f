"""Advancing a run by one step: rows for what became ready or skipped, pure nodes run
inline, the rest queued for workers; then the run's status decided from its rows, and
the whole step written in one statement, with what follows its commit."""

from __future__ import annotations

import functools

from django.db import transaction

from apps.runs import events, replay, rows, scheduler
from apps.runs.engine_hooks import HookTime, engine_hooks
from apps.runs.models import NodeStatus, Run, RunStatus
from apps.runs.services.dispatch import dispatch_node_runs, in_process_run
from apps.runs.services.execution import execute_inline, policy_of
from apps.runs.services.runtime import engine_paused_reason
from apps.runs.services.step import (
    Step,
    StepOutdated,
    context_data,
    failed_rows,
    new_row,
    node_entry,
    run_result,
    set_node_status,
    set_run_status,
)
from apps.runs.services.transitions import NODE_OPEN, RUN_FINISHED, node_status_after


def advance(step: Step) -> None:
    """Create rows for what became ready or skipped; run pure ones inline; queue the rest."""
    compiled = step.compiled
    while True:
        states = {nid: scheduler.NodeState(r.status, r.outputs) for nid, r in step.rows.items()}
        plan = scheduler.plan(compiled.graph, states)
        progressed = bool(plan.skip or plan.ready)
        for node_id in plan.skip:
            row = new_row(step, node_id, finished_at=step.now, status=node_status_after(
                [NodeStatus.PENDING, NodeStatus.SKIPPED]))
            step.node_event(row)
        for node_id, inputs in plan.ready.items():
            new_row(step, node_id, status=NodeStatus.PENDING, inputs=inputs)
        if step.paused or failed_rows(step):
            break
        data = None
        for row in list(step.rows.values()):
            if row.status != NodeStatus.PENDING or (row.due_at and row.due_at > step.now):
                continue
            node_type = compiled.types[row.node_id]
            if node_type.pure or compiled.nodes[row.node_id].get("disabled"):
                if data is None:
                    data = context_data(step)
                execute_inline(step, row, data)
                if row.status == NodeStatus.SUCCEEDED:
                    data["nodes"][row.node_id] = node_entry(step, row.node_id,
                                                            row.outputs or {})
                progressed = True
            else:
                # Its message is "not yet published" until the broker took it (the
                # outbox: apps.runs.outbox sends it again if it never gets there).
                set_node_status(step, row, NodeStatus.QUEUED, queued_at=step.now,
                                dispatched_at=None)
                step.dispatch.append(row)
        if not progressed:
            break


def decide_run_status(step: Step) -> None:
    """Decide the run's status from its rows."""
    failed = failed_rows(step)
    states = {nid: scheduler.NodeState(r.status, r.outputs) for nid, r in step.rows.items()}
    if failed:
        first = failed[0]
        for row in step.rows.values():
            if row.status in NODE_OPEN:
                set_node_status(step, row, NodeStatus.CANCELLED, finished_at=step.now)
        error = {"type": first.error["type"], "message": first.error["message"],
                 "node_id": first.node_id}
        set_run_status(step, RunStatus.FAILED, error=error, finished_at=step.now)
    elif scheduler.is_finished(step.compiled.graph, states):
        set_run_status(step, RunStatus.SUCCEEDED, finished_at=step.now)
    elif step.paused:
        set_run_status(step, RunStatus.PAUSED)
    elif any(r.status in (NodeStatus.PENDING, NodeStatus.QUEUED, NodeStatus.RUNNING)
             for r in step.rows.values()):
        set_run_status(step, RunStatus.RUNNING)
    else:
        set_run_status(step, RunStatus.WAITING)


def write_step(step: Step) -> None:
    """Write the step in one statement: the run (insert, or compare-and-set on the
    status it was read with), changed rows (compare-and-set), new rows. Then hand
    dispatch and events to on_commit."""
    write = rows.StepWrite(new_rows=step.new, guard=step.guard, run_id=step.run.pk,
                           events=len(step.events))
    if step.is_new_run:
        step.run.event_seq = len(step.events)
        write.run_insert = step.run
    elif step.run_fields:
        fields = dict(step.run_fields)
        # Each hop was checked against RUN_TRANSITIONS by set_run_status.
        write.run_update = (step.run.pk, step.run_loaded if "status" in fields else None,
                            fields)
    for pk, (row, loaded, fields) in step.changed.items():
        if row.status != loaded:
            fields = {**fields, "status": row.status}
        write.row_updates.append((pk, loaded, fields))
    if not rows.step_write(write):
        if step.guard is not None:  # a new run checks nothing else
            raise replay.ClaimTaken()
        raise StepOutdated(f"run {step.run.pk} or one of its node runs moved on concurrently")
    if write.event_seq is not None:  # numbered with the step's own write, not after it
        first = write.event_seq - len(step.events) + 1
        for offset, event in enumerate(step.events):
            event["seq"] = first + offset
    # What follows the commit first (the step's messages and events), then the handlers
    # of its waits and of the run statuses it reached: a child run they start, which may
    # end at once and resume this run, publishes its own events after these.
    _after_commit(step)
    for row, payload in step.waits:  # the rows are written: a task may refer to its row
        engine_hooks.wait_kinds[row.state["kind"]].on_wait(run=step.run, node_run=row,
                                                            payload=payload)
    if any(status in RUN_FINISHED for status in step.reached):
        step.run.result = run_result(step)  # what it gives a parent (engine_hooks)
    for status in step.reached:
        run_reached(step.run, status, waited=wait_kinds_used(step))


def wait_kinds_used(step: Step) -> set[str]:
    """The wait kinds this run's nodes have used (every row of the run is in the step)."""
    return {r.state["kind"] for r in step.rows.values()
            if isinstance(r.state, dict) and "kind" in r.state}


def status_hooks(run: Run, status: str, when: HookTime, waited: set[str] | None):
    """The handlers of a run status that apply: one that only concerns runs that used a
    wait kind (approvals and their tasks) is skipped for a run that never did, and one
    that applies to some runs only (a child run's parent) for the others, so a webhook
    run stays one statement."""
    return [hook for hook in engine_hooks.for_status(status, when)
            if (waited is None or hook.wait_kind is None or hook.wait_kind in waited)
            and (hook.applies is None or hook.applies(run))]


def run_reached(run: Run, status: str, *, waited: set[str] | None = None) -> None:
    """The handlers of a run status (apps.runs.engine_hooks): in this transaction, or
    after it commits. `waited`: the wait kinds the run used, when known."""
    for hook in status_hooks(run, status, HookTime.IN_TRANSACTION, waited):
        hook.handler(run=run, status=status)
    for hook in status_hooks(run, status, HookTime.AFTER_COMMIT, waited):
        transaction.on_commit(functools.partial(hook.handler, run=run, status=status))


def needs_transaction(step: Step) -> bool:
    """Whether writing this step writes more than its one statement (the handlers of
    its waits and of the statuses it reached: tasks, child runs, a parent run)."""
    waited = wait_kinds_used(step)
    return bool(step.waits or any(status_hooks(step.run, status, HookTime.IN_TRANSACTION, waited)
                                  for status in step.reached))


def _after_commit(step: Step) -> None:
    dispatch = [(row.pk, row.node_id) for row in step.dispatch]
    run = step.run
    compiled = step.compiled
    if dispatch:
        jobs = []
        network = set()  # the nodes that wait on the network (see dispatch.in_process)
        for pk, node_id in dispatch:
            node_type = compiled.types[node_id]
            timeout = policy_of(compiled.configs[node_id]).timeout_s
            jobs.append((pk, node_type.queue or "default", timeout))
            if getattr(node_type, "waits_on_network", False):
                network.add(pk)
        transaction.on_commit(lambda: dispatch_node_runs(jobs, trace_id=run.trace_id,
                                                         network=network))
    if step.events:
        evts = step.events
        transaction.on_commit(lambda: events.publish_run(str(run.pk), evts))
    here = in_process_run()
    if here is not None:  # its caller waits in this process: the answer goes to it here
        if "response" in step.run_fields:
            response = step.run.response
            transaction.on_commit(lambda: here.answered(response))
        elif any(status in RUN_FINISHED for status in step.reached):
            transaction.on_commit(here.elsewhere)  # it reads how the run ended


def begin(step: Step) -> None:
    run = step.run
    set_run_status(step, RunStatus.RUNNING, started_at=step.now)
    step.paused = bool(engine_paused_reason(workflow_id=run.workflow_id))
    advance(step)
    decide_run_status(step)
