"""Sub-workflows and maps: child runs started from a waiting node, and a finished
child that resumes its parent node or its map item. A map's list is split into item
rows inside PostgreSQL and run a chunk at a time; pure children run in memory and are
written in bulk."""

from __future__ import annotations

import uuid
from datetime import timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import transaction

from apps.runs import metrics, refs, rows
from apps.runs.models import MapItem, NodeRun, NodeStatus, Run, RunStatus
from apps.runs.services.advance import begin
from apps.runs.services.dispatch import enqueue
from apps.runs.services.execution import NodeFailure
from apps.runs.services.plans import Compiled, compile_version
from apps.runs.services.resume import node_run_resume, resume_locked
from apps.runs.services.starts import run_start
from apps.runs.services.step import Step, db_clock, log_context_bind, run_result
from apps.runs.services.transitions import RUN_ACTIVE, RUN_FINISHED, run_born
from apps.workflows.models import Workflow, WorkflowVersion

MAP_INLINE_MAX = 1000


class MapProgress(StrEnum):
    """What a look at a map's items did (`map_progress`)."""

    DROPPED = "dropped"  # the map node no longer waits
    FAILED = "failed"  # an item failed (or the list was not a list): the node fails
    FINISHED = "finished"  # every item is done: the node goes on with the results
    PROGRESS = "progress"  # more chunks started, or some still running


def published_version(workflow_id) -> tuple[Workflow, WorkflowVersion]:
    workflow = Workflow.objects.filter(pk=workflow_id, deleted_at__isnull=True).first()
    if workflow is None:
        raise NodeFailure("not_found", f"Workflow {workflow_id} does not exist.", False)
    version = workflow.versions.order_by("-number").first()
    if version is None:
        raise NodeFailure("not_published", f"Workflow {workflow.name!r} has no published "
                          "version.", False)
    return workflow, version


def child_start(run: Run, row: NodeRun) -> None:
    """Start the child run of a sub-workflow node, in the same transaction that made
    the node wait (after its row is written). The parent's lock is held; the child
    resumes the parent node when it ends (`child_finished`), maybe at once."""
    payload = row.state["payload"]
    try:
        workflow, version = published_version(payload["workflow_id"])
    except NodeFailure as failure:
        resume_locked(run, row.pk, None, failure.as_dict())
        return
    run_start(workflow=workflow, version=version, input=payload.get("input") or {},
              trigger="subworkflow", trace_id=run.trace_id, parent_node_run=row,
              check_paused=False, stored_input=True, mode=run.mode)


def child_finished(child: Run, result: Any) -> None:
    """A child run ended: resume its parent node (sub-workflow) or its map item."""
    parent_row = NodeRun.objects.filter(pk=child.parent_node_run_id).only(
        "pk", "run_id", "state").first()
    if parent_row is None:
        return
    if (parent_row.state or {}).get("kind") == "map":
        MapItem.objects.filter(node_run_id=parent_row.pk, child_run=child).update(
            done=True, output=result,
            error=child.error if child.status != RunStatus.SUCCEEDED else None)
        transaction.on_commit(lambda: enqueue("runs.map_progress", [parent_row.pk],
                                               queue="default"))
        return
    parent_run = rows.run_lock(parent_row.run_id)
    if parent_run is None or parent_run.status not in RUN_ACTIVE:
        return
    if child.status == RunStatus.SUCCEEDED:
        resume_locked(parent_run, parent_row.pk, {"out": result}, None)
    else:
        message = (child.error or {}).get("message", "") or f"The child run {child.status}."
        resume_locked(parent_run, parent_row.pk, None,
                       {"type": f"child_{child.status}", "message": message})


def map_begin(row: NodeRun) -> None:
    """Split the map node's list into item rows inside PostgreSQL: the list never
    passes through this process (nor does a list held by reference elsewhere)."""
    payload = row.state["payload"]
    chunk = int(payload.get("chunk_size") or 100)
    source = rows.map_list_source(row.pk)
    kind, total = rows.map_list_shape(source)
    row.state = {**row.state, "total": total, "chunk_size": chunk, "started_chunks": 0}
    transaction.on_commit(lambda: enqueue("runs.map_progress", [row.pk], queue="default"))
    if kind != "array":
        row.state["error"] = {"type": "invalid_input",
                              "message": f"A map needs a list on its input; it got {kind}."}
    NodeRun.objects.filter(pk=row.pk).update(state=row.state)
    if kind == "array" and total:
        rows.map_items_insert(row.pk, source)


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
            return MapProgress.DROPPED
        state = dict(row.state)
        if state.get("error"):
            transaction.on_commit(lambda: node_run_resume(node_run_id=node_run_id,
                                                          error=state["error"]))
            return MapProgress.FAILED
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
            return MapProgress.FAILED
        in_flight = rows.map_chunks_in_flight(node_run_id, chunk_size=size, started=started)
        if started >= chunks and in_flight == 0:
            if total > MAP_INLINE_MAX:
                # The results stay in their item rows; the output refers to them.
                outputs = {"out": refs.map_ref(node_run_id, total)}
                NodeRun.objects.filter(pk=node_run_id).update(
                    state={**state, "outputs": outputs})
            else:  # small: gathered inline (inside PostgreSQL), as the UI shows it
                rows.map_results_gather(node_run_id)
            transaction.on_commit(lambda: node_run_resume(node_run_id=node_run_id))
            return MapProgress.FINISHED
        concurrency = int(state["payload"].get("concurrency") or 4)
        to_start = list(range(started, min(chunks, started + concurrency - in_flight)))
        if to_start:
            state["started_chunks"] = started + len(to_start)
            NodeRun.objects.filter(pk=node_run_id).update(state=state)
            for index in to_start:
                transaction.on_commit(lambda i=index: enqueue(
                    "runs.map_chunk", [node_run_id, i], queue="default"))
        return MapProgress.PROGRESS


MAP_BATCH = 50  # child runs written per bulk insert inside a chunk


def map_chunk_run(*, node_run_id: int, chunk: int) -> int:
    """Run one chunk of a map's items through the child workflow. Pure children run
    here, in memory, and are written in bulk; others go to workers like any run."""
    row = NodeRun.objects.select_related("run").defer("inputs", "outputs").filter(
        pk=node_run_id).first()
    if row is None or row.status != NodeStatus.WAITING or row.run.status not in RUN_ACTIVE:
        return 0
    log_context_bind(row.run)
    state = row.state
    size = state["chunk_size"]
    try:
        workflow, version = published_version(state["payload"]["workflow_id"])
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
            done += map_inline_batch(row, workflow, version, compiled, items)
        else:
            for item in items:
                with transaction.atomic():
                    child = run_start(workflow=workflow, version=version, input=item.input,
                                      trigger="map", trace_id=row.run.trace_id,
                                      parent_node_run=row, check_paused=False,
                                      stored_input=True, mode=row.run.mode)
                    MapItem.objects.filter(pk=item.pk, done=False).update(child_run=child)
    enqueue("runs.map_progress", [node_run_id], queue="default")
    return done


def map_inline_batch(row: NodeRun, workflow, version, compiled: Compiled,
                      items: list[MapItem]) -> int:
    now = db_clock()
    runs, node_rows, updates = [], [], []
    for item in items:
        run = run_born(id=uuid.uuid4(), workflow_id=workflow.pk, version_id=version.pk,
                       trigger="map", mode=row.run.mode,
                       input=item.input if isinstance(item.input, dict)
                       else {"item": item.input}, created_at=now,
                       trace_id=row.run.trace_id, parent_run_id=row.run_id,
                       parent_node_run_id=row.pk, trigger_ref=f"map:{row.pk}:{item.index}",
                       vars=row.run.vars, deadline_at=now + timedelta(seconds=settings.WEFT_RUN_TIMEOUT_S))
        step = Step(run=run, compiled=compiled, rows={}, now=now, is_new_run=True)
        begin(step)
        runs.append(run)
        node_rows.extend(step.new)
        item.child_run_id = run.pk
        item.done = True
        if run.status == RunStatus.SUCCEEDED:
            item.output = run_result(step)
        else:
            item.error = run.error or {"type": "child_" + run.status,
                                       "message": "The item's run did not finish inline."}
        updates.append(item)
    with transaction.atomic():
        Run.objects.bulk_create(runs)
        NodeRun.objects.bulk_create(node_rows)
        MapItem.objects.bulk_update(updates, ["child_run", "done", "output", "error"])
    # Of the hooks of a finished run (apps.runs.engine_hooks), only the count applies to
    # these: they are written finished, in bulk, and their results are in their items.
    for run in runs:
        if run.status in RUN_FINISHED:
            metrics.count_run_finished(run=run, status=run.status)
    return len(items)


def subworkflow_wait(*, run: Run, node_run: NodeRun, payload: dict[str, Any]) -> None:
    """The `subworkflow` wait (apps.runs.engine_hooks): its child run starts."""
    child_start(run, node_run)


def map_wait(*, run: Run, node_run: NodeRun, payload: dict[str, Any]) -> None:
    """The `map` wait (apps.runs.engine_hooks): its list is split into item rows."""
    map_begin(node_run)


def parent_notify(*, run: Run, status: str) -> None:
    """A child run ended (apps.runs.engine_hooks): its parent node or map item goes on
    with `run.result`, what the child gives its caller."""
    child_finished(run, run.result)
