"""What the operations page reads: Celery queue depths on the broker and live workers."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import redis
from django.conf import settings

logger = logging.getLogger("weft.console")

# kombu's Redis transport keeps one list per queue and priority step:
# "<queue>" for priority 0 and "<queue>\x06\x16<n>" for the other steps.
PRIORITY_SEP = "\x06\x16"
PRIORITY_STEPS = (3, 6, 9)


@dataclass
class QueueDepths:
    queues: dict[str, int] = field(default_factory=dict)
    unacked: int = 0
    error: str = ""


@dataclass
class Worker:
    name: str
    queues: list[str] = field(default_factory=list)


@dataclass
class Workers:
    alive: list[Worker] = field(default_factory=list)
    error: str = ""


def queue_depths(*, broker_url: str | None = None) -> QueueDepths:
    from celery_worker.app import QUEUES

    client = redis.Redis.from_url(broker_url or settings.CELERY_BROKER_URL, socket_timeout=1,
                                  socket_connect_timeout=1)
    try:
        pipe = client.pipeline(transaction=False)
        for queue in QUEUES:
            pipe.llen(queue)
            for step in PRIORITY_STEPS:
                pipe.llen(f"{queue}{PRIORITY_SEP}{step}")
        pipe.hlen("unacked")
        counts = pipe.execute()
    except redis.RedisError as exc:
        return QueueDepths(error=f"broker unreachable: {exc}")
    finally:
        client.close()
    per_queue = 1 + len(PRIORITY_STEPS)
    return QueueDepths(
        queues={queue: sum(counts[i * per_queue:(i + 1) * per_queue])
                for i, queue in enumerate(QUEUES)},
        unacked=counts[-1])


def workers_alive(*, timeout: float = 1.0) -> Workers:
    """Workers that answer a ping within `timeout`, with the queues they consume."""
    from celery_worker.app import app

    try:
        replies = app.control.inspect(timeout=timeout).ping() or {}
        if not replies:
            return Workers()
        queues = app.control.inspect(destination=list(replies), timeout=timeout)\
            .active_queues() or {}
    except Exception as exc:  # the broker is down or answers garbage: show it, do not fail
        logger.warning("worker inspection failed", exc_info=True)
        return Workers(error=f"could not reach the workers: {exc}")
    return Workers(alive=[Worker(name, sorted(q["name"] for q in queues.get(name, [])))
                          for name in sorted(replies)])
