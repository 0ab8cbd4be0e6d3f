"""The Celery side of the engine, after commit: node runs sent to their queues and
marked published once the broker took them (what it did not take, the outbox sends
again: apps.runs.outbox), and maintenance tasks enqueued."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import queue as queues
import threading
import time
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from concurrent import futures
from typing import Any

from django.conf import settings
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


class InProcess:
    """A run whose caller waits in this process (a respond-mode webhook's) while its
    network nodes are executed here (`in_process`): how many of them are in flight
    here, and the answer handed to the caller by the step that made it, so that the
    caller neither subscribes to the run's events nor reads its row.

    `news` resolves once, from whichever thread gets there first: with the run's
    response (in stored form) when a step written here answered; with None when the
    caller must watch the run as any other (apps.runs.respond): a node of the run went
    to a worker, the run ended without an answer, or none of its nodes is in flight
    here any longer and it has not answered (a retry due later, a node taken over by
    another process, a cancel)."""

    def __init__(self) -> None:
        self.news: futures.Future = futures.Future()
        self._in_flight = 0
        self._lock = threading.Lock()

    def answered(self, response: Any) -> None:
        self._resolve(response)

    def elsewhere(self) -> None:
        self._resolve(None)

    def enter(self) -> None:
        """A node of the run is in flight here (until `leave`)."""
        with self._lock:
            self._in_flight += 1

    def leave(self) -> None:
        with self._lock:
            self._in_flight -= 1
        self.idle()

    def idle(self) -> None:
        """None in flight here and no answer yet: the caller watches the run."""
        self._resolve(None, only_if_idle=True)

    def _resolve(self, value: Any, *, only_if_idle: bool = False) -> None:
        with self._lock:
            if not self.news.done() and not (only_if_idle and self._in_flight > 0):
                self.news.set_result(value)


# Set while a step of a run whose caller waits in this process is written and settled
# (a respond-mode webhook's): its network nodes are executed here (`in_process`).
_here: contextvars.ContextVar[InProcess | None] = contextvars.ContextVar(
    "weft_dispatch_here", default=None)


@contextlib.contextmanager
def in_process(on: bool | InProcess | None = True):
    """Within it, the network nodes that the steps written here queue (HTTP requests,
    model calls: the `io` and `inference` queues) are executed by this process's I/O
    executor instead of being sent to a worker (WEFT_RESPOND_IN_PROCESS): the web
    process that waits for a respond-mode webhook's answer makes its calls itself, one
    hop fewer. Durability is the engine's as in a worker: the node is claimed under this
    process's lease and heartbeat (apps.runs.io_executor); one this process does not
    take (no slot free, the database away) is sent to its worker as usual.

    Yields the run's InProcess (`on` itself when one is given: the executor settles a
    node within its run's), or None when switched off. A new one that has no node in
    flight when the block ends has nothing to wait for here (`InProcess.idle`)."""
    here = None
    if on and settings.WEFT_RESPOND_IN_PROCESS and settings.WEFT_IO_EXECUTOR:
        here = on if isinstance(on, InProcess) else InProcess()
    token = _here.set(here)
    try:
        yield here
    finally:
        _here.reset(token)
        if here is not None and here is not on:
            here.idle()


def in_process_run() -> InProcess | None:
    """The InProcess of the step being written, if its caller waits in this process."""
    return _here.get()


def dispatch_node_runs(jobs: list[tuple[int, str, float | None]], *, trace_id: str,
                       network: AbstractSet[int] = frozenset()) -> list[int]:
    """Send node runs to their queues (after the commit that queued them) and mark
    those the broker took as published (off this thread: `published`). A publish
    that fails leaves the row queued and unpublished: a worker process's outbox loop
    sends it again within seconds of the broker's return. Returns the pks not sent.
    Through Weft's Celery app by name, never a task's `current_app`: that is per
    thread, and in a thread of a web server that never made it current it is Celery's
    unconfigured default app (a broker on localhost that is not Weft's). `network`:
    the pks of nodes that wait on the network, which `in_process` executes here."""
    here = _here.get()
    if here is not None:
        if network:
            jobs = _executed_here(jobs, network, here)
        if not jobs:
            return []
        here.elsewhere()  # a node of the run goes to a worker: its caller watches the run
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


# How this process executes a network node itself (node run pk, queue, its run's
# InProcess -> taken?): registered by apps.runs.io_executor (imported when the runs app
# is ready), which imports the services, so they do not import it.
_execute_here: Callable[[int, str, InProcess], bool] | None = None


def executes_here(function: Callable[[int, str, InProcess], bool]) -> None:
    global _execute_here
    _execute_here = function


def _executed_here(jobs: list[tuple[int, str, float | None]], network: AbstractSet[int],
                   here: InProcess) -> list[tuple[int, str, float | None]]:
    """Hand the network nodes among `jobs` to this process's I/O executor; the jobs it
    did not take."""
    if _execute_here is None:
        return jobs
    left = []
    for job in jobs:
        pk, queue, _timeout = job
        try:
            taken = pk in network and _execute_here(pk, queue, here)
        except Exception:  # the database away: sent to its worker with the others
            logger.warning("could not execute node run %s in this process", pk, exc_info=True)
            taken = False
        if not taken:
            left.append(job)
    return left


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
