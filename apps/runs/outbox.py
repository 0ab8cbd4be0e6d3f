"""The outbox of node messages and the liveness of lease holders, both kept in
PostgreSQL (nothing that must survive a Redis outage lives only in Redis).

- A queued node run is born "not yet published" (`NodeRun.dispatched_at` null) in its
  step's transaction. After the commit its message is published with short broker
  timeouts, and what the broker took is marked published by a thread of the
  publishing process, off the request's path (`apps.runs.services.dispatch`).
- Every process that executes nodes (a Celery worker child) runs one `Liveness`
  thread: every WEFT_HEARTBEAT_S it stamps its heartbeat row with PostgreSQL's `now()`,
  sends unpublished messages again (queued longer than WEFT_OUTBOX_GRACE_S), sends
  stranded nodes again (running under a holder whose heartbeat is older than
  WEFT_HOLDER_DEAD_S: their next delivery takes them over), and notices a restarted
  broker (its queues are gone: what was published before is sent again).
  It reads PostgreSQL, not the broker's schedule: it runs while Redis is down.

Duplicate messages are harmless (the claim is compare-and-set); rows are picked with
SKIP LOCKED and stamped before they are sent, so processes do not send the same row
at once, and a stranded row is sent at most once every WEFT_HOLDER_DEAD_S.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import DatabaseError, connection

from apps.core.db import database_back, prepared_cursor
from apps.runs.models import NodeStatus, RunStatus
from apps.runs.rows import HOLDER_GONE_SQL
from apps.runs.services.dispatch import dispatch_job, dispatch_node_runs

logger = logging.getLogger("weft.runs.outbox")

# --- Heartbeats ------------------------------------------------------------------------------

def heartbeat(*, holder: str) -> None:
    """This holder is alive, by PostgreSQL's clock."""
    with prepared_cursor() as cursor:
        cursor.execute("INSERT INTO runs_workerheartbeat (holder, beat_at, started_at) "
                       "VALUES (%s, now(), now()) ON CONFLICT (holder) DO UPDATE "
                       "SET beat_at = now()", [holder])


def heartbeats_forget() -> int:
    """Heartbeats of processes gone for a day (each worker child has its own row)."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM runs_workerheartbeat WHERE beat_at < now() - interval '1 day'")
        return cursor.rowcount


# --- Sending again -----------------------------------------------------------------------------

_PICK_RETURNING = (" RETURNING runs_noderun.id, runs_noderun.node_id, picked.version_id, "
                   "picked.trace_id")


def _pick(sql: str, params: dict) -> list[tuple[int, str, int, str]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def unpublished_pick(*, grace_s: float, batch: int) -> list[tuple[int, str, int, str]]:
    """Queued rows of running runs whose message was not published (after a grace
    for the publisher's own mark), stamped as sent now: (pk, node_id, version, trace)."""
    return _pick(
        "WITH picked AS (SELECT n.id, r.version_id, r.trace_id FROM runs_noderun n"
        " JOIN runs_run r ON r.id = n.run_id WHERE n.status = %(queued)s"
        " AND n.dispatched_at IS NULL AND n.queued_at < now() - make_interval(secs => %(grace)s)"
        " AND r.status = %(running)s ORDER BY n.queued_at LIMIT %(batch)s"
        " FOR UPDATE OF n SKIP LOCKED)"
        " UPDATE runs_noderun SET dispatched_at = now() FROM picked"
        " WHERE runs_noderun.id = picked.id" + _PICK_RETURNING,
        {"queued": NodeStatus.QUEUED, "running": RunStatus.RUNNING, "grace": float(grace_s),
         "batch": batch})


def stranded_pick(*, dead_after_s: float, batch: int) -> list[tuple[int, str, int, str]]:
    """Running rows (or queued ones held for a cap: rows.node_run_hold) whose holder
    stopped beating (see rows.HOLDER_GONE_SQL), not sent again in the last
    `dead_after_s`: stamped as sent now."""
    return _pick(
        "WITH picked AS (SELECT n.id, r.version_id, r.trace_id FROM runs_noderun n"
        " JOIN runs_run r ON r.id = n.run_id WHERE n.status = ANY(%(held)s)"
        " AND r.status = %(running)s"
        " AND (n.dispatched_at IS NULL OR n.dispatched_at < now() - "
        "make_interval(secs => %(dead_after)s))"
        f" AND {HOLDER_GONE_SQL.format(table='n')}"
        " LIMIT %(batch)s FOR UPDATE OF n SKIP LOCKED)"
        " UPDATE runs_noderun SET dispatched_at = now() FROM picked"
        " WHERE runs_noderun.id = picked.id" + _PICK_RETURNING,
        {"held": [NodeStatus.RUNNING, NodeStatus.QUEUED], "running": RunStatus.RUNNING,
         "dead_after": float(dead_after_s), "batch": batch})


def unsent(*, pks: list[int]) -> None:
    """These could not be published after all: unpublished again."""
    if pks:
        with connection.cursor() as cursor:
            cursor.execute("UPDATE runs_noderun SET dispatched_at = NULL WHERE id = ANY(%s) "
                           "AND status = %s", [list(pks), NodeStatus.QUEUED])


def lost_with_broker(*, uptime_s: float) -> int:
    """The broker restarted `uptime_s` ago and lost its queues: queued rows published
    before that are unpublished again (each process computes the same cut-off, so a
    row is sent again once, not once per process)."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE runs_noderun SET dispatched_at = NULL WHERE status = %s "
                       "AND dispatched_at < now() - make_interval(secs => %s)",
                       [NodeStatus.QUEUED, float(uptime_s)])
        return cursor.rowcount


def send(*, picked: list[tuple[int, str, int, str]]) -> tuple[int, int]:
    """Publish picked rows; the ones the broker would not take are unpublished again.
    Returns (sent, not sent)."""
    by_trace: dict[str, list[tuple[int, str, float | None]]] = {}
    for pk, node_id, version_id, trace_id in picked:
        try:
            job = dispatch_job(version_id=version_id, node_id=node_id, pk=pk)
        except Exception:  # a version this process cannot compile: leave it to others
            logger.warning("could not prepare node run %s for sending", pk, exc_info=True)
            continue
        by_trace.setdefault(trace_id, []).append(job)
    failed: list[int] = []
    for trace_id, jobs in by_trace.items():
        if failed:  # the broker is away: the rest wait for the next turn
            failed += [job[0] for job in jobs]
            continue
        failed += dispatch_node_runs(jobs, trace_id=trace_id)
    unsent(pks=failed)
    return len(picked) - len(failed), len(failed)


def outbox_pass(*, broker: BrokerWatch | None = None) -> dict[str, int]:
    """One turn of the outbox: what is unpublished or stranded is sent again."""
    counts = {"unpublished": 0, "stranded": 0, "lost": 0, "failed": 0}
    if broker is not None:
        # Queued rows published before the broker's current life began were lost with
        # it (an in-memory Redis keeps nothing across a restart). Judged from the
        # broker's uptime on every turn, so a process that started after the restart
        # (a worker that came back with it) notices as well as one that saw it go.
        uptime = broker.uptime_s()
        if uptime is not None:
            counts["lost"] = lost_with_broker(uptime_s=uptime + 1.0)  # a second's margin
            if counts["lost"]:
                logger.warning("the broker restarted; sending %d queued node run(s) again",
                               counts["lost"])
    for kind, picked in (
            ("unpublished", unpublished_pick(grace_s=settings.WEFT_OUTBOX_GRACE_S,
                                             batch=500)),
            ("stranded", stranded_pick(dead_after_s=settings.WEFT_HOLDER_DEAD_S, batch=100))):
        if picked:
            sent, failed = send(picked=picked)
            counts[kind] += sent
            counts["failed"] += failed
            if kind == "stranded" and sent:
                logger.warning("sent %d stranded node run(s) again: their holders stopped "
                               "beating", sent)
    return counts


class BrokerWatch:
    """Reads how long the (Redis) broker has been up."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = None

    def uptime_s(self) -> float | None:
        """Seconds since the broker started; None when it cannot be asked."""
        if not self.url.startswith(("redis://", "rediss://", "unix://")):
            return None
        try:
            if self.client is None:
                import redis

                self.client = redis.Redis.from_url(self.url, socket_timeout=1,
                                                   socket_connect_timeout=1)
            info = self.client.info("server")
        except Exception:
            return None
        return float(info.get("uptime_in_seconds", 0))


class Liveness(threading.Thread):
    """A worker process's heartbeat and outbox loop (one per process)."""

    def __init__(self, holder: str) -> None:
        super().__init__(name="weft-liveness", daemon=True)
        self.holder = holder
        self.stopping = threading.Event()
        self.broker = BrokerWatch(settings.CELERY_BROKER_URL)

    def run(self) -> None:
        every = settings.WEFT_HEARTBEAT_S
        next_outbox = 0.0
        turns = 0
        # Started from worker_process_init: let the process finish setting up first
        # (Celery's Django fixup closes the connection pool inherited from the parent).
        self.stopping.wait(0.5)
        while not self.stopping.is_set():
            try:
                heartbeat(holder=self.holder)
                if time.monotonic() >= next_outbox:
                    next_outbox = time.monotonic() + settings.WEFT_OUTBOX_EVERY_S
                    outbox_pass(broker=self.broker)
                    turns += 1
                    if turns % 3600 == 1:
                        heartbeats_forget()
            except Exception as exc:  # the database away: try again at the next turn
                logger.warning("liveness turn failed: %r", exc)
                if isinstance(exc, DatabaseError):
                    database_back(deadline=time.monotonic())  # back already: a fresh pool
            finally:
                connection.close()
            self.stopping.wait(min(every, settings.WEFT_OUTBOX_EVERY_S))

    def stop(self) -> None:
        self.stopping.set()


_liveness: Liveness | None = None


def liveness_start(*, holder: str) -> Liveness:
    """Start this process's heartbeat and outbox loop (once per process)."""
    global _liveness
    if _liveness is None or not _liveness.is_alive() or _liveness.holder != holder:
        _liveness = Liveness(holder)
        _liveness.start()
    return _liveness


def liveness_stop() -> None:
    if _liveness is not None:
        _liveness.stop()
