"""The I/O executor: nodes that wait on the network (HTTP requests, model calls) are
awaited on one event loop per worker process, so that process keeps hundreds of calls
in flight while waiting costs no process, no thread and no database connection
(DESIGN.md contract 10).

A delivery of such a node (a Celery task on the `io` or `inference` queue) does, on
the worker's own thread:

1. take a slot of the process's global cap (WEFT_IO_CONCURRENCY): while none is free
   the delivery waits here, the node not yet claimed, so it stays *queued* and its
   message unacknowledged (another process may take the next ones);
2. claim the node with its lease (`services.node_run_claim`: the kill switch,
   quarantine and compare-and-set are the engine's as for any node), and `prepare`
   its call (templates, credentials: the parts that read the database);
3. hand the call to the event loop and return, so Celery acknowledges the message.

On the loop, the call waits for its turn under its own rate limits (its credential's
"Requests per second"), a slot of its host (WEFT_IO_PER_HOST) and its turn under the
host's rate limit (WEFT_IO_HOST_RATES), the rates being aiolimiter's leaky bucket
(apps.runs.io_gates); while it waits, the node shows as queued
(`services.node_run_hold`, still this process's) and from when its call starts as
running. A call whose turn under a rate limit is more than a second away does not wait
here, holding a slot: it goes back to the database, pending and due at its turn
(`services.node_run_defer`; the sweep sends it again then), its turn kept for it. The call is awaited under the node's time
limit, and its result is settled by one of a few database threads (`services.node_run_settle`: the same step as for any node, so retries with
backoff and `Retry-After` are the engine's due-time rows, never a sleep here).

Durability rests on PostgreSQL, not on the message: every in-flight node is running
under this process's lease, renewed for all of them in one statement every few
seconds, and this process beats (apps.runs.outbox). When the process dies (SIGKILL),
its heartbeat stops and another process's outbox loop sends its nodes again; the
next delivery takes each over, and the compare-and-set settle commits each once.
A node that is no longer this process's (its run cancelled, or taken over after a
lapse) drops out of the renewal: its call is abandoned at once and its late result
would be dropped anyway.

A web process has one too, for the network nodes of the respond-mode webhooks whose
callers wait in it (`execute_here`, from apps.runs.services.dispatch.in_process): the
same claim, caps, loop and settle, under the process's own name (`web@<host>#<pid>`),
which beats while it has calls in flight, so that a worker's outbox takes its nodes
over if it dies. A node it has no slot for is sent to a worker as usual. Each such
call counts as in flight for its run's InProcess until settled, so that the caller
learns when nothing of its run is left here (apps.runs.services.dispatch.InProcess).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import close_old_connections

from apps.audit.personal import personal_scope
from apps.audit.redaction import SecretScrubber, secret_scope
from apps.nodes.base import NetworkCall, Outputs
from apps.nodes.io import IOClients
from apps.runs import metrics, rows, services
from apps.runs.io_gates import DEFER_AFTER_S, IOGates, gate_waits, host_rates
from apps.runs.outbox import heartbeat
from apps.runs.services.dispatch import InProcess, executes_here

logger = logging.getLogger("weft.runs.io")

# The queues whose deliveries go through the executor.
QUEUES = frozenset({"io", "inference"})


@dataclass(eq=False)
class _Flight:
    claimed: services.Claimed
    call: NetworkCall
    scope: SecretScrubber
    here: InProcess | None = None  # the run of a caller waiting in this process
    task: asyncio.Task | None = None
    calling: bool = False  # its call went out (it no longer waits for a cap)
    settling: bool = False
    abandoned: bool = False
    started: float = field(default_factory=time.perf_counter)

    def abandon(self) -> bool:
        """(On the loop.) No longer ours: its call is cancelled and its late result
        dropped; False when it is being settled already (or not started)."""
        if self.settling or self.task is None:
            return False
        self.abandoned = True
        self.task.cancel()
        return True


class _Gone(Exception):
    """The node is no longer this process's (cancelled, or taken by another delivery)
    before its call started: nothing to settle."""


class _Deferred(Exception):
    """The node waits for its turn under a rate limit in the database: nothing to settle."""


class IOExecutor:
    """One per worker process (see `executor()`); thread-safe `execute`."""

    def __init__(self, *, concurrency: int, per_host: int, db_threads: int = 2,
                 rates: dict[str, float] | None = None) -> None:
        self.concurrency = concurrency
        self.per_host = per_host
        self.gates = IOGates(per_host=per_host, rates=rates or {})
        self.slots = threading.BoundedSemaphore(concurrency)
        self.flights: dict[int, _Flight] = {}  # node run pk -> its flight (loop thread only)
        self.peak = 0
        self.db = ThreadPoolExecutor(db_threads, thread_name_prefix="weft-io-db")
        self.loop = asyncio.new_event_loop()
        self.io = IOClients(max_connections=concurrency)
        self.holders: set[str] = set()
        self.beaten = float("-inf")  # when this process last beat as `web_worker`
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), name="weft-io-loop",
                                       daemon=True)
        self.thread.start()
        ready.wait()

    # --- The delivering thread -------------------------------------------------------------

    def execute(self, *, node_run_id: int, worker: str = "") -> str:
        """Take a slot, claim the node and hand its call to the loop ("submitted");
        a node type that does not wait on the network runs here as usual."""
        if not services.node_run_take(node_run_id):
            return services.Outcome.BUSY  # in flight here: a message sent again
        self.slots.acquire()
        return self._claim_and_launch(node_run_id, worker=worker, here=None)

    def execute_here(self, *, node_run_id: int, here: InProcess) -> bool:
        """A network node of a run whose caller waits in this (web) process, executed
        here instead of by a worker (apps.runs.services.dispatch.in_process): claimed
        under this process's own name, which beats while it has calls in flight, so a
        worker's outbox takes the node over if this process dies. False when no slot
        is free (the node is left to a worker)."""
        self._beat_if_quiet()  # before anything is taken: a failure leaves nothing held
        if not self.slots.acquire(blocking=False):
            return False
        if not services.node_run_take(node_run_id):
            self.slots.release()
            return True  # in hand here already
        self._claim_and_launch(node_run_id, worker=self.web_worker, here=here)
        return True

    def _claim_and_launch(self, node_run_id: int, *, worker: str, here: InProcess | None
                          ) -> str:
        """With a slot and the node in hand: claim it and hand its call to the loop;
        the slot and the node are let go here unless the call was handed over."""
        handed = False
        try:
            claimed = services.node_run_claim(node_run_id=node_run_id, worker=worker)
            if isinstance(claimed, str):
                return claimed
            node_id = claimed.row.node_id
            instance = claimed.compiled.instances[node_id]
            if not getattr(instance, "waits_on_network", False):  # (never one `here`)
                return services.node_run_finish(claimed=claimed)
            masker = services.personal_masker(claimed.compiled, claimed.context)
            with secret_scope() as scope, personal_scope(masker):
                try:
                    call = instance.prepare(claimed.context, claimed.compiled.configs[node_id])
                except Exception as exc:
                    failure = services.node_failure(claimed.compiled, node_id, exc, scope)
                    with services.in_process(here):
                        return services.node_run_settle(claimed=claimed, result=failure)
                context = contextvars.copy_context()  # log lines on the loop are masked too
            flight = _Flight(claimed=claimed, call=call, scope=scope, here=here)
            self.holders.add(claimed.holder)
            if here is not None:
                here.enter()  # left once settled (or gone): `_fly`
            self.loop.call_soon_threadsafe(self._launch, flight, context)
            handed = True
            return "submitted"
        finally:
            if not handed:
                self.slots.release()
                services.node_run_let_go(node_run_id)

    # --- Executing in the web process --------------------------------------------------------

    @functools.cached_property
    def web_worker(self) -> str:
        """This process's name as the holder of the nodes it executes for its callers
        (`web@<host>`, then the pid: apps.runs.services.worker_identity)."""
        return f"web@{socket.gethostname()}"

    def _beat_if_quiet(self) -> None:
        """A heartbeat now when this process has not beaten lately (it beats only while
        it has calls in flight: `_keep_leases`), so that no outbox takes a node it is
        about to claim for one whose holder stopped beating."""
        if time.monotonic() - self.beaten > settings.WEFT_HEARTBEAT_S:
            self._beat()

    def _beat(self) -> None:
        try:
            heartbeat(holder=services.worker_identity(self.web_worker))
            self.beaten = time.monotonic()
        finally:
            close_old_connections()

    # --- The loop --------------------------------------------------------------------------

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.create_task(self._keep_leases())
        self.loop.call_soon(ready.set)
        self.loop.run_forever()

    def _launch(self, flight: _Flight, context: contextvars.Context) -> None:
        pk = flight.claimed.row.pk
        self.flights[pk] = flight
        self.peak = max(self.peak, len(self.flights))
        flight.task = self.loop.create_task(self._fly(flight), context=context)
        # Let go however the task ends, even cancelled before its first step.
        flight.task.add_done_callback(functools.partial(self._landed, flight))

    def _landed(self, flight: _Flight, _task: asyncio.Task) -> None:
        pk = flight.claimed.row.pk
        self.flights.pop(pk, None)
        self.slots.release()
        services.node_run_let_go(pk)
        if flight.here is not None:
            flight.here.leave()

    async def _fly(self, flight: _Flight) -> None:
        claimed = flight.claimed
        node_id = claimed.row.node_id
        compiled = claimed.compiled
        try:
            result = await self._perform(flight)
        except asyncio.CancelledError:
            if flight.abandoned:  # no longer ours: nothing to settle
                logger.info("node run %s abandoned: its run moved on", claimed.row.pk)
                return
            raise
        except _Gone:
            logger.info("node run %s left: it moved on while waiting", claimed.row.pk)
            return
        except _Deferred:
            logger.info("node run %s waits for its turn under a rate limit until %s",
                        claimed.row.pk, claimed.row.due_at)
            return
        except TimeoutError:  # its policy's time limit passed while it waited
            result = services.node_timeout(compiled, node_id)
        except Exception as exc:
            result = services.node_failure(compiled, node_id, exc, flight.scope)
        finally:
            metrics.NODE_DURATION.labels(compiled.types[node_id].type).observe(
                time.perf_counter() - flight.started)
        flight.settling = True
        await self.loop.run_in_executor(self.db, self._settle, claimed, result, flight.here)

    async def _perform(self, flight: _Flight) -> Any:
        call = flight.call
        claimed = flight.claimed
        node_id = claimed.row.node_id
        timeout = services.node_policy(claimed.compiled.configs[node_id]).timeout_s
        held = False
        turn_s = self.gates.turn_s(call, node_run_id=claimed.row.pk)
        if turn_s > DEFER_AFTER_S:
            if not (await self._in_db(services.node_run_hold, claimed=claimed)
                    and await self._in_db(services.node_run_defer, claimed=claimed,
                                          delay_s=turn_s)):
                raise _Gone
            self.gates.reserve(claimed.row.pk, turn_s)
            raise _Deferred
        async with contextlib.AsyncExitStack() as entered:
            for gate in self.gates.gates(call):
                # Waiting for a cap of this process, the node shows as queued (still ours).
                if not held and gate_waits(gate):
                    if not await self._in_db(services.node_run_hold, claimed=claimed):
                        raise _Gone
                    held = True
                await entered.enter_async_context(gate)
            if held:
                if not await self._in_db(services.node_run_held_start, claimed=claimed):
                    raise _Gone
                flight.started = time.perf_counter()
            flight.calling = True
            async with asyncio.timeout(timeout):
                outputs = await call.perform(self.io)
        result = services.node_result_checked(claimed.compiled, node_id, outputs)
        return Outputs(flight.scope.scrub(result.ports)) if isinstance(result, Outputs) \
            else result

    async def _in_db(self, function: Any, **kwargs: Any) -> Any:
        """A service call on one of the database threads."""
        def call() -> Any:
            try:
                return function(**kwargs)
            finally:
                close_old_connections()

        return await self.loop.run_in_executor(self.db, call)

    @staticmethod
    def _settle(claimed: services.Claimed, result: Any, here: InProcess | None) -> None:
        try:
            with services.in_process(here):  # the run's next network nodes too
                services.node_run_settle(claimed=claimed, result=result)
        except Exception:  # its lease lapses; the sweep sends it again (never twice settled)
            logger.exception("could not settle node run %s", claimed.row.pk)
        finally:
            close_old_connections()

    async def _keep_leases(self) -> None:
        """Renew the leases of every node in flight, in one statement a turn; abandon
        the calls of nodes that are no longer this process's."""
        every = min(1.0, settings.WEFT_NODE_LEASE_S / 3)
        while True:
            await asyncio.sleep(every)
            if any(flight.here for flight in self.flights.values()):
                with contextlib.suppress(Exception):  # the database away: next turn
                    await self.loop.run_in_executor(self.db, self._beat)
            flying = {pk: f for pk, f in self.flights.items() if not f.settling}
            if not flying:
                continue
            by_holder: dict[str, list[int]] = {}
            for pk, flight in flying.items():
                by_holder.setdefault(flight.claimed.holder, []).append(pk)
            try:
                kept = await self.loop.run_in_executor(self.db, _renew, by_holder)
            except Exception:  # the database away: the next turn tries again
                logger.warning("could not renew the leases of %d node(s) in flight",
                               len(flying), exc_info=True)
                continue
            for pk, flight in flying.items():
                if pk not in kept:
                    flight.abandon()

    def in_flight(self) -> int:
        return len(self.flights)

    # --- Shutdown ----------------------------------------------------------------------------

    def drain(self, timeout_s: float) -> int:
        """At this process's warm shutdown, once no more deliveries come: the calls in
        flight finish and are settled, for up to `timeout_s`, while the process still
        beats and renews their leases, so that stopping a worker (a deploy, Ctrl-C)
        calls no API twice for one node. A call that has not gone out yet (waiting for
        its host's cap or its turn under a rate limit) is not started now: it is handed
        back at once, and so are the calls still in flight at the end, rather than left
        to wait for this process's heartbeat to lapse (pending, due now, nobody's: the
        next sweep sends them to another process). Returns how many were handed back."""
        deadline = time.monotonic() + timeout_s
        waiting = self._on_loop(functools.partial(self._abandon, calling=False))
        self._hand_back(waiting)
        if self.flights:
            logger.info("waiting up to %.0f s for %d call(s) in flight", timeout_s,
                        len(self.flights))
        while self.flights and time.monotonic() < deadline:
            time.sleep(0.05)
        late = self._on_loop(functools.partial(self._abandon, calling=True))
        self._hand_back(late)
        settling = time.monotonic() + 10  # a settle under way is let finish
        while self.flights and time.monotonic() < settling:
            time.sleep(0.05)
        if waiting or late:
            logger.warning("handed back %d call(s) that had not gone out and %d still in "
                           "flight after %.0f s: other processes make them", len(waiting),
                           len(late), timeout_s)
        return len(waiting) + len(late)

    def _abandon(self, *, calling: bool) -> list[services.Claimed]:
        """(On the loop.) Abandon the flights whose call has (`calling`) or has not gone
        out yet, unless being settled."""
        return [flight.claimed for flight in list(self.flights.values())
                if flight.calling == calling and flight.abandon()]

    @staticmethod
    def _hand_back(claimed_nodes: list[services.Claimed]) -> None:
        """Abandoned nodes, still this process's, pending again and due now."""
        for claimed in claimed_nodes:
            try:  # running (or held: queued) and ours -> queued -> pending, nobody's
                services.node_run_hold(claimed=claimed)
                services.node_run_defer(claimed=claimed, delay_s=0)
            except Exception:  # its holder stops beating: taken over after the lapse
                logger.exception("could not hand node run %s back", claimed.row.pk)
            finally:
                close_old_connections()

    def _on_loop(self, function: Any) -> Any:
        """`function()` run on the loop's thread, between its other callbacks."""
        async def call() -> Any:
            return function()

        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(10)


def _renew(by_holder: dict[str, list[int]]) -> set[int]:
    try:
        kept: set[int] = set()
        for holder, pks in by_holder.items():
            kept |= rows.node_runs_renew(pks, holder=holder, lease_s=settings.WEFT_NODE_LEASE_S)
        return kept
    finally:
        close_old_connections()


_executor: IOExecutor | None = None
_executor_pid = 0
_executor_lock = threading.Lock()


# A web process settles the calls it makes for its callers on more database threads
# than a worker: its webhook threads start runs at the same time, and with two the
# settles fell behind (bench/io.py's order check at concurrency 32: 86-97 runs/s with
# 2, 115-117 with 6, same machine and hour).
WEB_DB_THREADS = 6


def executor(*, db_threads: int = 2) -> IOExecutor:
    """This process's executor, started on first use (after a fork, a new one) with
    `db_threads` threads that settle its calls."""
    global _executor, _executor_pid
    if _executor is None or _executor_pid != os.getpid():
        with _executor_lock:
            if _executor is None or _executor_pid != os.getpid():
                _executor = IOExecutor(concurrency=settings.WEFT_IO_CONCURRENCY,
                                       per_host=settings.WEFT_IO_PER_HOST,
                                       rates=host_rates(settings.WEFT_IO_HOST_RATES),
                                       db_threads=db_threads)
                _executor_pid = os.getpid()
    return _executor


def drain(*, timeout_s: float) -> int:
    """This process's executor drained at shutdown (`IOExecutor.drain`), if it has one."""
    if _executor is None or _executor_pid != os.getpid():
        return 0
    return _executor.drain(timeout_s)


def _execute_here(node_run_id: int, queue: str, here: InProcess) -> bool:
    """A network node of a respond-mode run, executed by this (web) process's executor
    (apps.runs.services.dispatch.in_process); False when it is not taken here."""
    return queue in QUEUES and executor(db_threads=WEB_DB_THREADS).execute_here(
        node_run_id=node_run_id, here=here)


executes_here(_execute_here)


def node_execute(*, node_run_id: int, worker: str = "", queue: str = "") -> str:
    """A node delivery: through this process's executor when it came from a queue of
    nodes that wait on the network (and the executor is on), else executed here."""
    if settings.WEFT_IO_EXECUTOR and queue in QUEUES:
        return executor().execute(node_run_id=node_run_id, worker=worker)
    return services.node_run_execute(node_run_id=node_run_id, worker=worker)
