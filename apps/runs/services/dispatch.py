"""The Celery side of the engine, after commit: node runs sent to their queues and
marked published once the broker took them (what it did not take, the outbox sends
again: apps.runs.outbox), and maintenance tasks enqueued."""

from __future__ import annotations

import logging
import os
import queue as queues
import threading
import time
from typing import Any

from django.db import connection

from apps.runs import rows
from apps.runs.models import NodeRun
from apps.runs.services.execution import policy_of
from apps.runs.services.plans import compiled_by_id

logger = logging.getLogger("weft.runs")


def enqueue(task_name: str, args: list[Any], queue: str = "maintenance") -> None:
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
    those the broker took as published (off this thread: `published`). A publish
    that fails leaves the row queued and unpublished: a worker process's outbox loop
    sends it again within seconds of the broker's return. Returns the pks not sent.
    Through Weft's Celery app by name, never a task's `current_app`: that is per
    thread, and in a thread of a web server that never made it current it is Celery's
    unconfigured default app (a broker on localhost that is not Weft's)."""
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
    published(pks=sent)
    return unsent


def dispatch_job(*, version_id: int, node_id: str, pk: int) -> tuple[int, str, float | None]:
    """(pk, queue, timeout) of a node run, as `dispatch_node_runs` takes it."""
    compiled = compiled_by_id(version_id)
    return (pk, compiled.types[node_id].queue or "default",
            policy_of(compiled.configs[node_id]).timeout_s)


def dispatch_again(row: NodeRun) -> None:
    """Send a node run to its queue once more (the sweep's safety net)."""
    dispatch_node_runs([dispatch_job(version_id=row.run.version_id, node_id=row.node_id,
                                     pk=row.pk)], trace_id=row.run.trace_id)


# --- Marking what the broker took ----------------------------------------------------------

_marks: queues.SimpleQueue | None = None
_marks_pid = 0
_marks_lock = threading.Lock()


def published(*, pks: list[int]) -> None:
    """The broker took these node runs' messages: mark them published (in a moment,
    in one statement with others, by this process's marker thread)."""
    if pks:
        _marker().put(list(pks))


def _marker() -> queues.SimpleQueue:
    global _marks, _marks_pid
    if _marks is None or _marks_pid != os.getpid():
        with _marks_lock:
            if _marks is None or _marks_pid != os.getpid():
                marks: queues.SimpleQueue = queues.SimpleQueue()
                threading.Thread(target=_mark_loop, args=(marks,), name="weft-outbox-marks",
                                 daemon=True).start()
                _marks, _marks_pid = marks, os.getpid()
    return _marks


def _mark_loop(marks: queues.SimpleQueue) -> None:
    while True:
        pks = list(marks.get())
        time.sleep(0.05)  # gather what the next few steps publish
        while len(pks) < 5000:
            try:
                pks.extend(marks.get_nowait())
            except queues.Empty:
                break
        try:
            rows.mark_published(pks=pks)
        except Exception:  # unmarked rows are sent again: harmless duplicates
            logger.warning("could not mark %d node run(s) published", len(pks), exc_info=True)
        finally:
            connection.close()
