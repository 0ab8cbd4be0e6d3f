"""The Celery app. Celery only delivers work (DESIGN.md contract 4): tasks take
ids and call one service. Queues keep slow work from starving fast work."""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("weft")
app.config_from_object("django.conf:settings", namespace="CELERY")

# default: engine steps and cheap nodes; io: HTTP and other slow I/O;
# inference: model calls; maintenance: sweeps, audit verification.
QUEUES = ("default", "io", "inference", "maintenance")
app.conf.task_queues = [Queue(name) for name in QUEUES]
app.conf.task_default_queue = "default"
app.conf.task_routes = {"audit.*": {"queue": "maintenance"}}
app.conf.beat_schedule = {
    "audit-verify-chain": {
        "task": "audit.verify_chain",
        "schedule": float(os.environ.get("WEFT_AUDIT_VERIFY_EVERY", 3600)),
        "options": {"queue": "maintenance"},
    },
    "runs-sweep": {"task": "runs.sweep", "schedule": 1.0,
                   "options": {"queue": "maintenance", "expires": 5}},
}
app.autodiscover_tasks()
