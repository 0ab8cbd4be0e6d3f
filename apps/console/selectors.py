"""What the operations page reads: Celery queue depths on the broker and live workers."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import redis
from django.conf import settings
from django.utils.dateparse import parse_datetime

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


@dataclass
class Health:
    """What the operations page shows beside the queues: Redis's memory against its
    limit (and a warning before it is full), and the processes `make run` supervises."""

    redis_memory: dict = field(default_factory=dict)
    redis_warning: str = ""
    redis_error: str = ""
    processes: dict = field(default_factory=dict)


def health() -> Health:
    from apps.core import readiness

    result = Health(processes=readiness.supervised_processes())
    try:
        result.redis_memory = readiness.redis_memory(url=settings.CACHE_URL)
    except redis.RedisError as exc:
        result.redis_error = f"Redis unreachable: {exc}"
        return result
    result.redis_warning = readiness.memory_warning(result.redis_memory)
    return result


# --- The engine: kill switch and runs failing now ------------------------------------

@dataclass
class FailingRuns:
    window_minutes: int
    failed: int = 0
    finished: int = 0
    active: dict[str, int] = field(default_factory=dict)
    recent: list = field(default_factory=list)  # the latest failed runs
    nodes: list = field(default_factory=list)  # (workflow name, node id, failures) hot spots


def kill_switch() -> dict:
    """The engine's switches with the paused workflows' names."""
    from apps.runs.selectors import engine_switches
    from apps.workflows.models import Workflow

    switches = engine_switches()
    ids = [entry["workflow"] for entry in switches["workflows"]]
    names = {str(pk): name for pk, name in
             Workflow.objects.filter(pk__in=ids).values_list("pk", "name")}
    for entry in switches["workflows"]:
        entry["name"] = names.get(entry["workflow"], entry["workflow"])
    for entry in (switches, *switches["workflows"]):
        if entry.get("changed_at"):
            entry["changed_at"] = parse_datetime(entry["changed_at"])
    return switches


def runs_failing(*, minutes: int = 60, limit: int = 10) -> FailingRuns:
    """Runs that failed in the last `minutes`, against all that finished, and the
    nodes failing most often in that window."""
    from datetime import timedelta

    from django.db.models import Count, Q
    from django.utils import timezone

    from apps.runs.models import NodeRun, NodeStatus, Run, RunStatus
    from apps.runs.selectors import runs_active_counts

    since = timezone.now() - timedelta(minutes=minutes)
    totals = Run.objects.filter(finished_at__gte=since).aggregate(
        finished=Count("id"), failed=Count("id", filter=Q(status=RunStatus.FAILED)))
    recent = list(Run.objects.filter(status=RunStatus.FAILED, finished_at__gte=since)
                  .select_related("workflow", "version").order_by("-finished_at")[:limit])
    nodes = list(NodeRun.objects.filter(status=NodeStatus.FAILED, finished_at__gte=since)
                 .values("run__workflow__name", "run__workflow_id", "node_id", "node_type")
                 .annotate(failures=Count("id")).order_by("-failures")[:limit])
    return FailingRuns(window_minutes=minutes, failed=totals["failed"],
                       finished=totals["finished"], active=runs_active_counts(),
                       recent=recent, nodes=nodes)
