"""Live status: events go to the run's Channels group after their transaction commits
(the services call `publish_run` from `transaction.on_commit`).

With the Redis pub/sub channel layer (our settings) a group send is one Redis
PUBLISH of the layer's serialized message on the group's channel; we do exactly
that with a plain synchronous client, because `async_to_sync(group_send)` costs a
new event loop and connection per call (about 4 ms: a third of a webhook run).
Any other layer goes through its own `group_send`.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings

logger = logging.getLogger("weft.runs.events")
_PUBSUB = "channels_redis.pubsub.RedisPubSubChannelLayer"
_local = threading.local()


def run_group(run_id: str) -> str:
    return f"run.{run_id}"


def _fast_publisher():
    config = settings.CHANNEL_LAYERS.get("default", {})
    options = config.get("CONFIG", {})
    hosts = options.get("hosts", [])
    if config.get("BACKEND") != _PUBSUB or len(hosts) != 1 or not isinstance(hosts[0], str) \
            or options.get("symmetric_encryption_keys"):
        return None
    publisher = getattr(_local, "publisher", None)
    if publisher is None or publisher[0] != hosts[0]:
        import redis
        from channels_redis.serializers import registry

        serializer = registry.get_serializer(options.get("serializer_format", "msgpack"))
        client = redis.Redis.from_url(hosts[0], socket_timeout=1, socket_connect_timeout=1)
        publisher = (hosts[0], client, serializer, options.get("prefix", "asgi"))
        _local.publisher = publisher
    return publisher


def publish_run(run_id: str, events: list[dict[str, Any]]) -> None:
    """One message per step; the consumer forwards each event on its own."""
    if not events:
        return
    message = {"type": "run.events", "events": events}
    group = run_group(run_id)
    try:
        publisher = _fast_publisher()
        if publisher is not None:
            _, client, serializer, prefix = publisher
            client.publish(f"{prefix}__group__{group}", serializer.serialize(message))
            return
        from asgiref.sync import async_to_sync
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(group, message)
    except Exception:  # live updates are best effort; the database has the truth
        logger.warning("could not publish run events", exc_info=True)
