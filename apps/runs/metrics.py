"""Prometheus metrics. Web and workers are separate processes, so counters and
histograms use prometheus-client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR,
set in the settings): each process writes its own file and `/metrics` sums them.
Queue depths are read from Redis (the broker's list lengths) and runs in flight
from PostgreSQL when scraped."""

from __future__ import annotations

import hmac

from django.conf import settings
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from apps.core.net import address_in, client_ip, parse_networks

# `mode`: production (a published version) or test (a test snapshot of the draft).
RUNS_STARTED = Counter("weft_runs_started_total", "Runs started.",
                       ["workflow", "trigger", "mode"])
RUNS_FINISHED = Counter("weft_runs_finished_total", "Runs finished.",
                        ["workflow", "status", "mode"])
NODE_DURATION = Histogram("weft_node_duration_seconds", "Time in a node type's code.",
                          ["node_type"], buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                  0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
RETRIES = Counter("weft_node_retries_total", "Node attempts scheduled after a failure.",
                  ["node_type"])
QUARANTINED = Counter("weft_deliveries_quarantined_total",
                      "Nodes failed because their deliveries kept killing workers.",
                      ["node_type"])


def count_run_finished(*, run, status: str) -> None:
    """A run ended (a handler of apps.runs.engine_hooks)."""
    RUNS_FINISHED.labels(str(run.workflow_id), status, run.mode).inc()


class _LiveCollector:
    """Read at scrape time: queue depths (Redis) and runs by status (PostgreSQL)."""

    def collect(self):
        from apps.runs import selectors

        depth = GaugeMetricFamily("weft_queue_depth", "Messages waiting in a Celery queue.",
                                  labels=["queue"])
        for queue, length in selectors.queue_depths().items():
            depth.add_metric([queue], length)
        yield depth
        active = GaugeMetricFamily("weft_runs_active", "Runs not finished, by status.",
                                   labels=["status"])
        for status, count in selectors.runs_active_counts().items():
            active.add_metric([status], count)
        yield active


def render() -> tuple[bytes, str]:
    import os

    from prometheus_client import CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY as DEFAULT

    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry = DEFAULT
    body = generate_latest(registry)
    live = CollectorRegistry()
    live.register(_LiveCollector())
    return body + generate_latest(live), CONTENT_TYPE_LATEST


def access_refusal(request) -> int | None:
    """None when `request` may read /metrics, else the status to answer.

    In production the metrics (which name workflows) answer only to the bearer token
    WEFT_METRICS_TOKEN or to a client in WEFT_METRICS_ALLOW (CIDRs; the client address
    as apps.core.net finds it); with neither configured they are off (404). In
    development they are open unless one of the two is set."""
    token = settings.WEFT_METRICS_TOKEN
    allow = tuple(settings.WEFT_METRICS_ALLOW)
    if not (settings.PRODUCTION or token or allow):
        return None
    if token:
        sent = request.headers.get("Authorization", "")
        if hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return None
    if allow and address_in(client_ip(request), parse_networks(allow)):
        return None
    return 403 if (token or allow) else 404
