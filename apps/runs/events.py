"""Live status: events go to the run's Channels group after their transaction commits
(the services call `publish_run` from `transaction.on_commit`).

With the Redis pub/sub channel layer (our settings) a group send is one Redis
PUBLISH of the layer's serialized message on the group's channel; we do exactly
that with a plain synchronous client, because `async_to_sync(group_send)` costs a
new event loop and connection per call (about 4 ms: a third of a webhook run).
Any other layer goes through its own `group_send`.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import queue
import threading
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from apps.runs.models import Run

logger = logging.getLogger("weft.runs.events")
_PUBSUB = "channels_redis.pubsub.RedisPubSubChannelLayer"
_local = threading.local()


RUNS_GROUP = "runs.all"  # the runs page: every run's status changes, for viewers


def run_group(run_id: str) -> str:
    return f"run.{run_id}"


@dataclass(frozen=True)
class PubSubLayer:
    """The Redis pub/sub channel layer on one host, whose group messages are plain Redis
    messages: what the publisher here and the respond webhook's waiters need of it."""

    url: str
    prefix: str
    serializer: Any
    encrypted: bool

    def channel(self, group: str) -> str:
        """The Redis pub/sub channel of a Channels group."""
        return f"{self.prefix}__group__{group}"


def pubsub_layer() -> PubSubLayer | None:
    """The configured channel layer as a PubSubLayer; None for any other layer."""
    config = settings.CHANNEL_LAYERS.get("default", {})
    options = config.get("CONFIG", {})
    hosts = options.get("hosts", [])
    if config.get("BACKEND") != _PUBSUB or len(hosts) != 1 or not isinstance(hosts[0], str):
        return None
    keys = options.get("symmetric_encryption_keys")
    return _pubsub_layer(hosts[0], options.get("prefix", "asgi"),
                         options.get("serializer_format", "msgpack"),
                         tuple(keys) if keys else None)


@functools.lru_cache(maxsize=8)
def _pubsub_layer(url: str, prefix: str, serializer_format: str,
                  keys: tuple[str, ...] | None) -> PubSubLayer:
    from channels_redis.serializers import registry

    serializer = registry.get_serializer(serializer_format,
                                         symmetric_encryption_keys=list(keys) if keys else None)
    return PubSubLayer(url=url, prefix=prefix, serializer=serializer, encrypted=bool(keys))


def _fast_publisher():
    layer = pubsub_layer()
    if layer is None or layer.encrypted:
        return None
    publisher = getattr(_local, "publisher", None)
    if publisher is None or publisher[0] is not layer:
        import redis

        client = redis.Redis.from_url(layer.url, socket_timeout=1, socket_connect_timeout=1)
        publisher = (layer, client)
        _local.publisher = publisher
    return publisher


def stamp_run_events(run_id: str, events: list[dict[str, Any]]) -> None:
    """Give each event the run's next sequence number (`seq`), counted in PostgreSQL.

    Events are stamped after the transaction that made their change committed (the
    callers publish from `transaction.on_commit`), so an event whose number is at or
    below the `seq` a snapshot read (apps.runs.consumers, in one repeatable-read
    transaction with the run's state) is already shown by that snapshot: clients drop
    it. A step's events are numbered by the statement that writes the step (the run's
    event_seq goes up with its change: rows.StepWrite), which keeps that promise with
    one statement fewer. Without a number (the database unreachable) an event is
    applied as it comes."""
    # Inside a transaction (a caller that publishes before its commit) behind a
    # savepoint, so that a failure here cannot break the caller's transaction.
    guard = transaction.atomic() if connection.in_atomic_block else nullcontext()
    try:
        with guard, connection.cursor() as cursor:
            cursor.execute(f"UPDATE {Run._meta.db_table} SET event_seq = event_seq + %s "
                           "WHERE id = %s RETURNING event_seq", [len(events), run_id])
            row = cursor.fetchone()
    except DatabaseError:
        logger.warning("could not number the events of run %s", run_id, exc_info=True)
        return
    if row is None:
        return
    first = row[0] - len(events) + 1
    for offset, event in enumerate(events):
        event["seq"] = first + offset


def publish_run(run_id: str, events: list[dict[str, Any]]) -> None:
    """One message per step; the consumer forwards each event on its own. Each event
    not numbered yet (a step's are, by the statement that wrote it) is numbered first
    (`stamp_run_events`: one UPDATE). With the pub/sub layer the
    message is handed to this process's publisher thread, which sends what has
    gathered in one pipelined round trip: the caller (a webhook request, a worker's
    step) does not wait on Redis. Order is kept per process."""
    if not events:
        return
    unnumbered = [event for event in events if "seq" not in event]
    if unnumbered:  # a step's events are numbered by its own write (rows.StepWrite)
        stamp_run_events(run_id, unnumbered)
    publish_group(run_group(run_id), {"type": "run.events", "events": events})
    statuses = [e["status"] for e in events if e.get("event") == "run"]
    if statuses:  # the runs page learns which run changed; it reads the run itself
        publish_group(RUNS_GROUP, {"type": "runs.changed", "run_id": run_id,
                                   "status": statuses[-1]})


def publish_group(group: str, message: dict[str, Any]) -> None:
    """One Channels message to a group, after the caller's commit (see publish_run);
    best effort: the database has the truth."""
    try:
        if _fast_publisher() is not None:
            _background().put((group, message))
            return
        from asgiref.sync import async_to_sync
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(group, message)
    except Exception:  # live updates are best effort; the database has the truth
        logger.warning("could not publish events to %s", group, exc_info=True)


_outbox: queue.SimpleQueue | None = None
_outbox_pid = 0
_outbox_lock = threading.Lock()


def _background() -> queue.SimpleQueue:
    global _outbox, _outbox_pid
    if _outbox is None or _outbox_pid != os.getpid():  # a forked child starts its own
        with _outbox_lock:
            if _outbox is None or _outbox_pid != os.getpid():
                outbox: queue.SimpleQueue = queue.SimpleQueue()
                threading.Thread(target=_drain, args=(outbox,), name="weft-events",
                                 daemon=True).start()
                _outbox, _outbox_pid = outbox, os.getpid()
                atexit.register(flush)
    return _outbox


def _drain(outbox: queue.SimpleQueue) -> None:
    while True:
        batch = [outbox.get()]
        while len(batch) < 500:
            try:
                batch.append(outbox.get_nowait())
            except queue.Empty:
                break
        messages = [(group, message) for group, message in batch if group]
        try:
            if messages:
                layer, client = _fast_publisher()
                pipe = client.pipeline(transaction=False)
                for group, message in messages:
                    pipe.publish(layer.channel(group), layer.serializer.serialize(message))
                pipe.execute()
        except Exception:  # best effort, as above
            logger.warning("could not publish run events", exc_info=True)
        for group, message in batch:
            if not group:  # a flush() marker: everything before it has gone
                message["done"].set()


def flush(timeout: float = 2.0) -> None:
    """Wait until what this process handed to the publisher thread has gone out."""
    if _outbox is None or _outbox_pid != os.getpid():
        return
    done = threading.Event()
    _outbox.put(("", {"type": "flush", "done": done}))
    done.wait(timeout)
