"""The answer of a `respond`-mode webhook: the respond node's output, or the run's end.

A caller whose run has not answered yet waits for the run's events (the Redis pub/sub
messages that apps.runs.events publishes after each step's commit), not by polling
its row: an event that may bring the answer wakes it to read the row once (a node
queued or running, or an event already in what it read, does not: `may_answer`). The
ASGI front waits on its event loop (`respond_wait_async`), its callers sharing one
subscription connection (`RunEvents`), so a slow run holds no thread of the pool that
serves other webhooks; the Django view waits on its own thread (`respond_wait`). An event
lost (Redis away) costs at most `RECHECK_S`: the row is read again then.

A caller of the ASGI front whose run's network nodes its own process executes
(`RespondWait.local`, apps.runs.services.dispatch.InProcess) is handed the answer by the
step that made it, and watches the events only once the run goes on elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from apps.nodes.registry import registry
from apps.runs import refs, rows
from apps.runs.events import pubsub_layer, run_group
from apps.runs.models import NodeRun, RunStatus

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
    # Its run's network nodes are executed in this process, whose steps hand it the
    # answer (apps.runs.services.dispatch.InProcess); None: it watches the run's events.
    local: Any = field(default=None, compare=False)


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
    row = rows.run_answer_read(pending.run_id)
    if row is None:
        return (409, {"code": "run_gone", "run_id": str(pending.run_id),
                      "detail": "This request started a run that no longer exists."}, {}), 0
    stored, status, seen = row
    if stored is not None:
        return _response_parts(stored), seen
    if status == RunStatus.SUCCEEDED and not _answer_failed(pending.run_id):
        return (200, {"run_id": str(pending.run_id), "status": status}, {}), seen
    if status in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED):
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
    layer = pubsub_layer()
    if layer is None:
        return None
    return layer.url, layer.channel(run_group(str(run_id)))


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
    read, seen = True, 0
    try:
        while True:
            if read:
                answer, seen = respond_read(pending)
                if answer is not None:
                    return respond_answer(pending, answer)
            left = deadline - time.monotonic()
            if left <= 0:
                return respond_answer(pending, respond_timed_out(pending))
            # An event that may answer, or RECHECK_S without one: read the row again.
            read = may_answer(_event_wait(subscription, min(left, RECHECK_S)), seen)
    finally:
        if subscription is not None:
            with contextlib.suppress(Exception):
                subscription.close()


@functools.cache
def _redis(url: str):
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=1)


def _event_wait(subscription, seconds: float) -> Any:
    """The next message of the run's events, read; None after `seconds` without one."""
    if subscription is None:
        time.sleep(seconds)
        return None
    try:
        message = subscription.get_message(timeout=seconds)
    except Exception:
        time.sleep(seconds)
        return None
    if not message or message.get("type") != "message":
        return None
    try:
        return pubsub_layer().serializer.deserialize(message["data"])
    except Exception:  # not ours to read: a wake-up all the same
        return None


# --- Waiting on the event loop (the ASGI front) --------------------------------------------

# How long a caller waits for Redis to confirm its subscription before reading the row
# anyway (an event lost meanwhile costs at most RECHECK_S).
SUBSCRIBE_WAIT_S = 1.0
_LOST = object()  # put to a waiter when the connection its events came by broke


class RunEvents:
    """One event loop's Redis pub/sub connection for the callers waiting on runs' events.

    A run's channel is subscribed while a caller waits on it, and one reader task hands
    each message to that run's callers. The reader blocks on the socket, so a message
    wakes its caller as it arrives (the channel layer's receiver polls, and sleeps 100 ms
    at a time while nothing is subscribed: a run that answered in 20 ms was answered in
    100); the callers of a process share the connection and its reader.
    """

    def __init__(self, url: str, serializer: Any) -> None:
        import redis.asyncio

        self.client = redis.asyncio.Redis.from_url(url, socket_connect_timeout=1)
        self.pubsub = self.client.pubsub()
        self.serializer = serializer
        self.waiters: dict[str, set[asyncio.Queue]] = {}
        self.confirmed: dict[str, asyncio.Future] = {}  # channel -> its subscribe answered
        self.lock = asyncio.Lock()  # subscribe and unsubscribe, one at a time
        self.reader: asyncio.Task | None = None
        self.broken = False

    async def join(self, channel: str) -> asyncio.Queue:
        """A queue of the channel's messages, once Redis has confirmed the subscription
        (so an event published after this returns reaches the queue)."""
        queue: asyncio.Queue = asyncio.Queue()
        waiters = self.waiters.setdefault(channel, set())
        waiters.add(queue)
        if len(waiters) == 1:
            self.confirmed[channel] = asyncio.get_running_loop().create_future()
            try:
                async with self.lock:
                    await self.pubsub.subscribe(channel)
            except BaseException:  # Redis away: this caller reads its row instead
                waiters.discard(queue)
                if not waiters:
                    del self.waiters[channel]
                    self.confirmed.pop(channel, None)
                raise
            if self.reader is None:
                self.reader = asyncio.ensure_future(self._read())
        confirmed = self.confirmed.get(channel)
        if confirmed is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(confirmed), SUBSCRIBE_WAIT_S)
        return queue

    async def leave(self, channel: str, queue: asyncio.Queue) -> None:
        waiters = self.waiters.get(channel)
        if waiters is None or queue not in waiters:
            return
        waiters.discard(queue)
        if waiters:
            return
        del self.waiters[channel]
        self.confirmed.pop(channel, None)
        if not self.broken:
            async with self.lock:
                await self.pubsub.unsubscribe(channel)

    async def _read(self) -> None:
        try:
            while True:
                message = await self.pubsub.get_message(timeout=None)
                if not message:
                    continue
                channel = message["channel"]
                channel = channel.decode() if isinstance(channel, bytes) else str(channel)
                if message["type"] == "subscribe":
                    confirmed = self.confirmed.get(channel)
                    if confirmed is not None and not confirmed.done():
                        confirmed.set_result(None)
                elif message["type"] == "message" and channel in self.waiters:
                    try:
                        data = self.serializer.deserialize(message["data"])
                    except Exception:  # not ours to read: a wake-up all the same
                        data = None
                    for queue in self.waiters[channel]:
                        queue.put_nowait(data)
        except asyncio.CancelledError:  # the loop closing: its connection with it
            with contextlib.suppress(Exception):
                await self.pubsub.aclose()
                await self.client.aclose()
            raise
        except Exception:  # Redis away: its callers read their rows every RECHECK_S
            logger.warning("respond: the events connection broke", exc_info=True)
            self._break()

    def _break(self) -> None:
        self.broken = True
        if _run_events.get(asyncio.get_running_loop()) is self:
            del _run_events[asyncio.get_running_loop()]
        for confirmed in self.confirmed.values():
            if not confirmed.done():
                confirmed.set_result(None)
        for waiters in self.waiters.values():
            for queue in waiters:
                queue.put_nowait(_LOST)
        asyncio.ensure_future(self.client.aclose())


_run_events: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # loop -> RunEvents


def run_events() -> RunEvents | None:
    """This event loop's RunEvents (None without the Redis pub/sub channel layer)."""
    loop = asyncio.get_running_loop()
    events = _run_events.get(loop)
    if events is None:
        layer = pubsub_layer()
        if layer is None:
            return None
        events = _run_events[loop] = RunEvents(layer.url, layer.serializer)
    return events


async def _local_wait(pending: RespondWait, in_thread: Callable[..., Awaitable[Any]],
                      deadline: float) -> Answer | None:
    """The answer handed over by this process's steps, or None when the run goes on
    elsewhere (the caller then watches its events). The row is read every RECHECK_S
    without news, as a caller watching events does without an event."""
    news = asyncio.wrap_future(pending.local.news)
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return respond_answer(pending, respond_timed_out(pending))
            try:
                response = await asyncio.wait_for(asyncio.shield(news), min(left, RECHECK_S))
            except TimeoutError:
                answer, _seen = await in_thread(respond_read, pending)
                if answer is not None:
                    return respond_answer(pending, answer)
                continue
            if response is None:
                return None
            return respond_answer(pending, respond_now(pending, response=response))
    finally:
        news.cancel()


async def respond_wait_async(pending: RespondWait,
                             in_thread: Callable[..., Awaitable[Any]]) -> Answer:
    """Wait on the event loop for the run's answer, woken by its events (this loop's
    `RunEvents`); `in_thread(fn, *args)` reads the row on a thread of the caller's pool,
    which is held only for that read. A run whose network nodes this process executes
    (`pending.local`) hands the answer over from the step that made it, without events
    or a read, unless it goes on elsewhere."""
    deadline = time.monotonic() + pending.timeout
    if pending.local is not None:
        answer = await _local_wait(pending, in_thread, deadline)
        if answer is not None:
            return answer
    target = _events_channel(pending.run_id)
    events = run_events()
    queue: asyncio.Queue | None = None
    read, seen = True, 0
    try:
        if events is not None and target is not None:
            try:
                queue = await events.join(target[1])
            except Exception:  # Redis away: the row is read every RECHECK_S
                logger.warning("respond: no events for run %s; reading its row",
                               pending.run_id)
        while True:
            if read:
                answer, seen = await in_thread(respond_read, pending)
                if answer is not None:
                    return respond_answer(pending, answer)
            left = deadline - time.monotonic()
            if left <= 0:
                return respond_answer(pending, respond_timed_out(pending))
            read = True  # RECHECK_S without an event (a lost one): read the row again
            if queue is None:
                await asyncio.sleep(min(left, RECHECK_S))
                continue
            try:
                message = await asyncio.wait_for(queue.get(), min(left, RECHECK_S))
            except TimeoutError:
                continue
            if message is _LOST:
                queue = None
                continue
            # An event: read the row if it may answer; a node queued or running, or
            # what was read already, not.
            read = may_answer(message, seen)
    finally:
        if queue is not None:  # joined: events and target are set
            try:
                await events.leave(target[1], queue)
            except Exception:
                logger.debug("respond: could not leave %s", target[1], exc_info=True)
