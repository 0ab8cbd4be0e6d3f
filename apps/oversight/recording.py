"""Recording every inference call, cheaply and without ever failing the run.

`model_calls_record` turns one call (its result, or its error) into one row per item
and appends them to this process's buffer: a few microseconds, no I/O. A background
thread (one per process, started on first use) writes the buffer every
`FLUSH_EVERY_S` with a single INSERT ... SELECT that also takes, from the run, the
workflow, its version and whether it is a test run. If the database is down the rows
are dropped (counted in `stats`), never raised: the call still counts in the run.
Processes that must not write from a thread (the test process) turn the thread off
with settings.WEFT_MODEL_RECORD_THREAD = False and call `model_calls_flush()`.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from apps.audit.personal import personal_in_flight
from apps.oversight.models import CallRole

logger = logging.getLogger("weft.oversight.recording")

FLUSH_EVERY_S = 1.0
MAX_BUFFERED = 100_000

_buffer: list[tuple] = []
_lock = threading.Lock()
_state: dict[str, Any] = {"pid": None, "thread": None, "wake": threading.Event()}
stats = {"recorded": 0, "written": 0, "dropped": 0}

_INSERT = """
INSERT INTO oversight_modelcall (at, server, model, model_version, role, workflow_id,
    workflow_version, node_id, run_id, item, is_test, latency_ms, batch_size, label,
    confidence, error_type)
SELECT c.at, c.server, c.model, c.model_version, c.role, r.workflow_id, v.number,
       c.node_id, c.run_id, c.item, c.is_test OR COALESCE(r.mode = 'test', false),
       c.latency_ms, c.batch_size, c.label, c.confidence, c.error_type
FROM unnest(%s::timestamptz[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[],
            %s::uuid[], %s::int[], %s::bool[], %s::float8[], %s::int[], %s::text[],
            %s::float8[], %s::text[])
     AS c(at, server, model, model_version, role, node_id, run_id, item, is_test,
          latency_ms, batch_size, label, confidence, error_type)
LEFT JOIN runs_run r ON r.id = c.run_id
LEFT JOIN workflows_workflowversion v ON v.id = r.version_id
"""


def _run_uuid(run_id: Any) -> str | None:
    if not run_id:
        return None
    try:
        return str(uuid.UUID(str(run_id)))
    except ValueError:
        return None


def _label(label: Any) -> str | None:
    """A prediction's label as recorded: a model's label output is free text (an
    extraction model may answer a name), so it passes through the masker of the run
    whose node is calling (apps.audit.personal), as log lines do."""
    if label is None:
        return None
    masker = personal_in_flight()
    return (masker.text(str(label)) if masker else str(label))[:200]


def model_calls_record(*, server: str, model: str, version: str, latency_ms: float,
                       predictions: Sequence[Any] = (), error_type: str = "",
                       batch_size: int = 1, run_id: Any = None, node_id: str = "",
                       role: CallRole = CallRole.PRIMARY, is_test: bool = False) -> None:
    """Buffer one call: a row per prediction (label and confidence where the model gave
    a probability vector), or one row with the error type. Never raises."""
    try:
        at = time.time()
        run = _run_uuid(run_id)
        base = (at, server, model, str(version or ""), str(role), node_id or "", run)
        if error_type or not predictions:
            rows = [(*base, 0, is_test, latency_ms, batch_size, None, None,
                     error_type or "no_output")]
        else:
            size = len(predictions)
            rows = [(*base, i, is_test, latency_ms, size, _label(p.label), p.confidence, "")
                    for i, p in enumerate(predictions)]
        with _lock:
            if len(_buffer) + len(rows) > MAX_BUFFERED:
                stats["dropped"] += len(rows)
                return
            _buffer.extend(rows)
            stats["recorded"] += len(rows)
        _ensure_thread()
    except Exception:  # noqa: BLE001 - recording never fails the call
        logger.warning("could not record a model call", exc_info=True)


def _take() -> list[tuple]:
    with _lock:
        rows = _buffer[:]
        _buffer.clear()
    return rows


def _columns(rows: list[tuple]) -> list[list[Any]]:
    columns = [list(column) for column in zip(*rows, strict=True)]
    columns[0] = [datetime.fromtimestamp(at, tz=UTC) for at in columns[0]]
    return columns


def model_calls_flush() -> int:
    """Write what is buffered; returns the rows written (0 when the write failed: the
    rows are then dropped, not retried, so a database outage cannot grow the buffer)."""
    rows = _take()
    if not rows:
        return 0
    from django.db import connection

    try:
        with connection.cursor() as cursor:
            cursor.execute(_INSERT, _columns(rows))
    except Exception:  # noqa: BLE001 - recording is best effort
        stats["dropped"] += len(rows)
        logger.warning("could not write %d model call records", len(rows), exc_info=True)
        return 0
    stats["written"] += len(rows)
    return len(rows)


def _thread_enabled() -> bool:
    from django.conf import settings

    return bool(getattr(settings, "WEFT_MODEL_RECORD_THREAD", True))


def _ensure_thread() -> None:
    pid = os.getpid()
    if _state["pid"] == pid:
        return
    with _lock:
        if _state["pid"] == pid:
            return
        _state["pid"] = pid
        if not _thread_enabled():
            return
        _state["wake"] = threading.Event()
        thread = threading.Thread(target=_loop, name="model-call-recorder", daemon=True)
        _state["thread"] = thread
        thread.start()


def _loop() -> None:
    from django.db import connection

    wake = _state["wake"]
    while True:
        wake.wait(FLUSH_EVERY_S)
        wake.clear()
        model_calls_flush()
        connection.close_if_unusable_or_obsolete()


def _flush_at_exit() -> None:
    if _buffer and _state["pid"] == os.getpid() and _thread_enabled():
        model_calls_flush()


atexit.register(_flush_at_exit)


def calls_record_from_result(*, server: str, result: Any, run_id: Any = None, node_id: str = "",
                             role: CallRole = CallRole.PRIMARY, is_test: bool = False) -> None:
    """An InferenceResult (apps.inference.client) as call records."""
    model_calls_record(server=server, model=result.model, version=result.version,
                       latency_ms=result.latency_ms, predictions=result.predictions,
                       run_id=run_id, node_id=node_id, role=role, is_test=is_test)


def buffered() -> int:
    return len(_buffer)


def model_calls_discard() -> int:
    """Drop what is buffered, unwritten (a process that writes no records of its own:
    the test process between tests). Returns how many were dropped."""
    return len(_take())
