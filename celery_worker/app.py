"""The Celery app. Celery only delivers work (DESIGN.md contract 4): tasks take
ids and call one service. Queues keep slow work from starving fast work."""

import functools
import logging
import os

from celery import Celery, signals
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

logger = logging.getLogger("weft.runs")

app = Celery("weft")
app.config_from_object("django.conf:settings", namespace="CELERY")

# default: engine steps and cheap nodes; io: HTTP and other slow I/O;
# inference: model calls; maintenance: sweeps, audit verification.
QUEUES = ("default", "io", "inference", "maintenance")
app.conf.task_queues = [Queue(name) for name in QUEUES]
app.conf.task_default_queue = "default"
app.conf.task_routes = {"audit.*": {"queue": "maintenance"},
                        "approvals.*": {"queue": "maintenance"},
                        "oversight.shadow_call": {"queue": "inference"},
                        "oversight.*": {"queue": "maintenance"}}
app.conf.beat_schedule = {
    "audit-verify-chain": {
        "task": "audit.verify_chain",
        "schedule": float(os.environ.get("WEFT_AUDIT_VERIFY_EVERY", 3600)),
        "options": {"queue": "maintenance"},
    },
    # Audit events a process recorded for the chain and left pending when it died.
    "audit-chain-pending": {"task": "audit.chain_pending",
                            "schedule": float(os.environ.get("WEFT_AUDIT_CHAIN_EVERY", 10)),
                            "options": {"queue": "maintenance"}},
    # No `expires`: a message's expiry is judged by the receiving worker's clock, and a
    # worker whose clock runs ahead would drop every sweep it took (timers would wait).
    # A backlog of sweeps is skipped by the tasks themselves (rows.sweep_turn, by
    # PostgreSQL's clock).
    "runs-sweep": {"task": "runs.sweep", "schedule": 1.0,
                   "options": {"queue": "maintenance"}},
    "approvals-sweep": {"task": "approvals.sweep", "schedule": 5.0,
                        "options": {"queue": "maintenance"}},
    # Model oversight: the hourly aggregates, then drift and alert rules; old call records.
    "oversight-rollup": {"task": "oversight.rollup",
                         "schedule": float(os.environ.get("WEFT_MODEL_ROLLUP_EVERY", 30)),
                         "options": {"queue": "maintenance"}},
    "oversight-check": {"task": "oversight.check",
                        "schedule": float(os.environ.get("WEFT_MODEL_CHECK_EVERY", 60)),
                        "options": {"queue": "maintenance"}},
    "oversight-retention": {"task": "oversight.retention",
                            "schedule": float(os.environ.get("WEFT_RETENTION_EVERY", 3600)),
                            "options": {"queue": "maintenance"}},
    "runs-retention": {"task": "runs.retention",
                       "schedule": float(os.environ.get("WEFT_RETENTION_EVERY", 3600)),
                       "options": {"queue": "maintenance"}},
}
app.autodiscover_tasks()


@signals.worker_init.connect
def _worker_connections(**_kwargs) -> None:
    """Worker processes check a pooled connection before a task uses it (one empty
    query), so a restarted PostgreSQL costs no task a failure. (Web processes do not:
    on the webhook path that round trip would double the statements of a run; a
    request that meets a dead connection fails once and the connection is dropped.)
    They name themselves in pg_stat_activity as `weft-worker`."""
    from django.db import connections

    for alias in connections:
        connections.settings[alias]["CONN_HEALTH_CHECKS"] = True
        connections.settings[alias].setdefault("OPTIONS", {}).setdefault(
            "application_name", "weft-worker")


@signals.task_prerun.connect
@signals.task_postrun.connect
def _connections_back_to_the_pool(**_kwargs) -> None:
    """As Django does around each request: a task's connections go back to the process's
    pool (kept open and warm), and one that broke is not used again."""
    from django.db import close_old_connections

    close_old_connections()


@signals.after_setup_logger.connect
@signals.after_setup_task_logger.connect
def _mask_secrets_in_worker_logs(logger=None, **_kwargs) -> None:
    """Celery replaces the root logger's handlers with its own: give them the filter
    that masks credential values in use (as settings.LOGGING does for Django's)."""
    from apps.audit.redaction import SecretLogFilter

    for handler in getattr(logger, "handlers", ()):
        if not any(isinstance(f, SecretLogFilter) for f in handler.filters):
            handler.addFilter(SecretLogFilter())


_worker = {"hostname": ""}


@signals.worker_init.connect
def _remember_hostname(sender=None, **_kwargs) -> None:
    _worker["hostname"] = getattr(sender, "hostname", "") or ""


@signals.worker_ready.connect
def _liveness_in_the_worker_process(sender=None, **_kwargs) -> None:
    """A worker whose pool runs tasks in its own process (threads, solo: the I/O
    workers, see apps.runs.io_executor) beats from that process; a prefork worker's
    children beat from `worker_process_init`."""
    pool = getattr(getattr(sender, "controller", None), "pool", None)
    if pool is not None and "prefork" not in type(pool).__module__:
        _liveness()


@signals.worker_process_init.connect
def _liveness(**_kwargs) -> None:
    """Each process that executes nodes beats (a heartbeat row in PostgreSQL) and runs
    the outbox loop: unpublished and stranded node messages are sent again from there,
    without the broker's scheduler (apps.runs.outbox)."""
    from apps.runs.outbox import liveness_start
    from apps.runs.services import worker_identity

    liveness_start(holder=worker_identity(_worker["hostname"]))


@signals.worker_process_shutdown.connect  # a prefork child
@signals.worker_shutdown.connect  # the worker's own process (threads and solo pools)
def _process_shutdown(**_kwargs) -> None:
    """A process that executed nodes, going (warm shutdown, after its last delivery):
    its calls in flight finish and are settled while it still beats, or are handed
    back after WEFT_IO_DRAIN_S (apps.runs.io_executor.drain); then its heartbeat stops,
    its buffered model-call records are written, and its Triton clients let go (a
    stopping Triton server waits for open connections). In a prefork worker's main
    process, which executes nothing, each step finds nothing to do."""
    from django.conf import settings

    from apps.inference.client import close_shared_clients
    from apps.oversight.recording import model_calls_flush
    from apps.runs.io_executor import drain
    from apps.runs.outbox import liveness_stop

    steps = (functools.partial(drain, timeout_s=settings.WEFT_IO_DRAIN_S), liveness_stop,
             model_calls_flush, close_shared_clients)
    for step in steps:  # one failing (the database away) does not skip the others
        try:
            step()
        except Exception:
            logger.exception("at shutdown: %r failed", step)
