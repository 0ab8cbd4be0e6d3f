"""Celery beat's scheduler with a liveness file for health checks.

`celery beat --scheduler celery_worker.beat:Scheduler` with WEFT_BEAT_LIVENESS_FILE set
touches that file on every tick (about every second: the sweep's schedule), so a health
check tells a beat that ticks from one that hangs (compose.yaml)."""

from __future__ import annotations

import os
from pathlib import Path

from celery.beat import PersistentScheduler


class Scheduler(PersistentScheduler):
    def tick(self, *args, **kwargs):
        path = os.environ.get("WEFT_BEAT_LIVENESS_FILE")
        if path:
            Path(path).touch()
        return super().tick(*args, **kwargs)
