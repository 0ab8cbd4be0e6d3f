"""Live status: events go to the run's Channels group after their transaction commits
(the services call `publish_run` from `transaction.on_commit`)."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger("weft.runs.events")


def run_group(run_id: str) -> str:
    return f"run.{run_id}"


def publish_run(run_id: str, events: list[dict[str, Any]]) -> None:
    """One message per step; the consumer forwards each event on its own."""
    layer = get_channel_layer()
    if layer is None or not events:
        return
    try:
        async_to_sync(layer.group_send)(run_group(run_id), {"type": "run.events",
                                                            "events": events})
    except Exception:  # live updates are best effort; the database has the truth
        logger.warning("could not publish run events", exc_info=True)
