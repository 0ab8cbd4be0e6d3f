"""The answer of a `respond`-mode webhook: the respond node's output, or the run's end.

A caller whose run has not answered yet waits for the run's events (the Redis pub/sub
messages that apps.runs.events publishes after each step's commit), not by polling
its row: an event that may bring the answer wakes it to read the row once (a node
queued or running, or an event already in what it read, does not: `may_answer`). The ASGI front waits on its event
loop (`respond_wait_async`), so a slow run holds no thread of the pool that serves
other webhooks; the Django view waits on its own thread (`respond_wait`). An event
lost (Redis away) costs at most `RECHECK_S`: the row is read again then.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from apps.nodes.registry import registry
from apps.runs import refs
from apps.runs.events import run_group
from apps.runs.models import NodeRun, Run, RunStatus

logger = logging.getLogger("weft.runs.respond")

Answer = tuple[int, Any, dict[str, str]]

# How soon a caller whose `respond` webhook timed out is told to send it again.
RESPOND_RETRY_AFTER_S = 1
# The row is read again this often even without an event (a lost one, Redis away).
RECHECK_S = 1.0


@dataclass(frozen=True)
class RespondWait:
    """A respond-mode webhook whose run has not answered yet."""

    run_id: uuid.UUID
    timeout: float
    failure: tuple[int, dict[str, Any]] = (500, {})
    headers: dict[str, str] = field(default_factory=dict)  # added to the answer's own


def respond_now(pending: RespondWait, *, response: Any = None) -> Answer | None:
    """The answer if the run has one now (`response`: the run's, when the caller has
    it): the respond node's output, 200 when it succeeded without one, the trigger's
    failure status and body when it ended otherwise or a respond node failed on its way
    (its id added; never the error's text: that stays in the run for the builder);
    else None."""
    return respond_read(pending, response=response)[0]


def respond_read(pending: RespondWait, *, response: Any = None) -> tuple[Answer | None, int]:
    """`respond_now`, and the number of the run's last event when its row was read (its
    events up to that number are in what was read; see `may_answer`)."""
    if response is not None:
        return _response_parts(response), 0
    row = Run.objects.filter(pk=pending.run_id).values("response", "status",
                                                       "event_seq").first()
    if row is None:
        return (409, {"code": "run_gone", "run_id": str(pending.run_id),
                      "detail": "This request started a run that no longer exists."}, {}), 0
    seen = int(row["event_seq"] or 0)
    if row["response"] is not None:
        return _response_parts(row["response"]), seen
    if row["status"] == RunStatus.SUCCEEDED and not _answer_failed(pending.run_id):
        return (200, {"run_id": str(pending.run_id), "status": row["status"]}, {}), seen
    if row["status"] in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED):
        status, body = pending.failure
        return (status, {**(body or {"error": "run_failed"}),
                         "run_id": str(pending.run_id)}, {}), seen
    return None, seen


# A node event in one of these cannot bring an answer: one comes with a node that ended
# (a respond node's success, a failure on the way) or with the run's own status.
QUIET_NODE_STATUSES = frozenset({"pending", "queued", "running", "waiting"})


def may_answer(message: Any, seen: int) -> bool:
    """Whether a run's events message may bring the answer that a row read up to event
    `seen` did not: an event after `seen` of the run, or of a node that ended. The
    events of a step are numbered after its commit, so a row read at or after an event's
    number holds that event's change. Anything else, or unnumbered, counts."""
    events = message.get("events") if isinstance(message, dict) else None
    if not isinstance(events, list) or not events:
        return True
    for event in events:
        if not isinstance(event, dict):
            return True
        number = event.get("seq")
        if isinstance(number, int) and not isinstance(number, bool) and number <= seen:
            continue
        if event.get("event") != "node" or event.get("status") not in QUIET_NODE_STATUSES:
            return True
    return False


def _answer_failed(run_id: uuid.UUID) -> bool:
    """Whether a node that answers failed and the run went on by its 'On error' port:
    a run that then ends without another answer fails its caller, never a 200."""
    answering = [t.type for t in registry if getattr(t, "responds", False)]
    return NodeRun.objects.filter(run_id=run_id, node_type__in=answering,
                                  error__isnull=False).exists()


def respond_timed_out(pending: RespondWait) -> Answer:
    """503 with Retry-After and the run's id: the same request sent again (same
    signature or Idempotency-Key) waits on that run."""
    return 503, {"code": "respond_timeout", "run_id": str(pending.run_id),
                 "detail": "The run did not respond in time; it goes on. Send the same "
                           "request again (the same signature or Idempotency-Key) to wait "
                           "on this run."}, {"Retry-After": str(RESPOND_RETRY_AFTER_S)}


def respond_answer(pending: RespondWait, answer: Answer) -> Answer:
    status, payload, headers = answer
    return status, payload, {**headers, **pending.headers}


def _response_parts(response: Any) -> Answer:
    """The respond node's stored output as the caller gets it (unescaped: a body that
    held `$weft_...` keys goes back as it came, see apps.runs.refs)."""
    if isinstance(response, dict):
        return int(response.get("status", 200)), refs.unescape(response.get("body")), \
            dict(response.get("headers") or {})
    return 200, refs.unescape(response), {}


# --- Waiting on this thread (the Django view) ---------------------------------------------

def _events_channel(run_id: uuid.UUID) -> tuple[str, str] | None:
    """(Redis URL, pub/sub channel) of a run's events with the pub/sub channel layer."""
    config = settings.CHANNEL_LAYERS.get("default", {})
    options = config.get("CONFIG", {})
    hosts = options.get("hosts", [])
    if not config.get("BACKEND", "").endswith("RedisPubSubChannelLayer") or len(hosts) != 1 \
            or not isinstance(hosts[0], str):
        return None
    return hosts[0], f"{options.get('prefix', 'asgi')}__group__{run_group(str(run_id))}"


def respond_wait(pending: RespondWait) -> Answer:
    """Wait on this thread for the run's answer, woken by its events."""
    deadline = time.monotonic() + pending.timeout
    subscription = None
    target = _events_channel(pending.run_id)
    try:
        if target is not None:
            subscription = _redis(target[0]).pubsub(ignore_subscribe_messages=True)
            subscription.subscribe(target[1])
    except Exception:  # Redis away: the row is read every RECHECK_S
        logger.warning("respond: no events for run %s; reading its row", pending.run_id)
        subscription = None
    try:
        while True:
            answer = respond_now(pending)
            if answer is not None:
                return respond_answer(pending, answer)
            left = deadline - time.monotonic()
            if left <= 0:
                return respond_answer(pending, respond_timed_out(pending))
            _event_wait(subscription, min(left, RECHECK_S))
    finally:
        if subscription is not None:
            with contextlib.suppress(Exception):
                subscription.close()


@functools.cache
def _redis(url: str):
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=1)


def _event_wait(subscription, seconds: float) -> None:
    if subscription is None:
        time.sleep(seconds)
        return
    try:
        subscription.get_message(timeout=seconds)
    except Exception:
        time.sleep(seconds)


# --- Waiting on the event loop (the ASGI front) --------------------------------------------

async def respond_wait_async(pending: RespondWait,
                             in_thread: Callable[..., Awaitable[Any]]) -> Answer:
    """Wait on the event loop for the run's answer, woken by its events (the channel
    layer's subscription to the run's group); `in_thread(fn, *args)` reads the row on
    a thread of the caller's pool, which is held only for that read."""
    from channels.layers import get_channel_layer

    deadline = time.monotonic() + pending.timeout
    layer = get_channel_layer()
    group = run_group(str(pending.run_id))
    channel = None
    receiving: asyncio.Future | None = None
    read, seen = True, 0
    try:
        try:
            channel = await layer.new_channel()
            await layer.group_add(group, channel)
        except Exception:  # Redis away: the row is read every RECHECK_S
            logger.warning("respond: no events for run %s; reading its row", pending.run_id)
        while True:
            if channel is not None and receiving is None:
                receiving = asyncio.ensure_future(layer.receive(channel))
                await asyncio.sleep(0)  # subscribed and waiting before the row is read
            if read:
                answer, seen = await in_thread(respond_read, pending)
                if answer is not None:
                    return respond_answer(pending, answer)
            left = deadline - time.monotonic()
            if left <= 0:
                return respond_answer(pending, respond_timed_out(pending))
            read = True  # RECHECK_S without an event (a lost one): read the row again
            if receiving is None:
                await asyncio.sleep(min(left, RECHECK_S))
                continue
            done, _ = await asyncio.wait({receiving}, timeout=min(left, RECHECK_S))
            if done:  # an event: read the row if it may answer (the layer failing: every
                # RECHECK_S); a node queued or running, or what was read already, not
                if receiving.exception() is not None:
                    channel = None
                else:
                    read = may_answer(receiving.result(), seen)
                receiving = None
    finally:
        if channel is not None:
            try:
                await layer.group_discard(group, channel)
                if receiving is None:  # a waiting receive, cancelled, forgets the channel
                    receiving = asyncio.ensure_future(layer.receive(channel))
                    await asyncio.sleep(0)
            except Exception:
                logger.debug("respond: could not leave %s", group, exc_info=True)
        if receiving is not None:
            receiving.cancel()  # the layer then forgets and unsubscribes the channel
            await asyncio.gather(receiving, return_exceptions=True)
