"""The I/O executor's limits for the APIs it calls, per worker process: calls in flight
at once per host (host:port, WEFT_IO_PER_HOST), requests per second per host
(WEFT_IO_HOST_RATES) and requests per second of the call's own rate limits (a
credential's "Requests per second"). Every rate limit is the same mechanism, aiolimiter's
leaky bucket of one second's requests. Used on the executor's event loop only.

A rate limit also keeps a line: each call books the next turn under each of its rate
limits (one every 1/rate seconds). A call whose turn is more than DEFER_AFTER_S away
does not wait in the process (it would hold a slot of WEFT_IO_CONCURRENCY all that
time, and a burst under a slow limit would starve every other call): the executor
gives it back to the database, due at its turn, and its turn stays booked for it
(`reserve`), so it goes out then without queueing again behind the calls that came
after it."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiolimiter import AsyncLimiter

from apps.nodes.base import NetworkCall, RateLimit

Gate = asyncio.Semaphore | AsyncLimiter

# A call whose turn under a rate limit is further off than this waits in the database.
DEFER_AFTER_S = 1.0
# Turns booked for calls given back to the database are forgotten this long after they
# came (the call was cancelled, or another process took it).
RESERVATION_KEPT_S = 60.0


def host_rates(entries: list[str]) -> dict[str, float]:
    """WEFT_IO_HOST_RATES's "host[:port]=rate" entries as {host or host:port: rate}."""
    rates = {}
    for entry in entries:
        key, _, rate = entry.rpartition("=")
        try:
            value = float(rate)
        except ValueError:
            value = 0.0
        if not key.strip() or value <= 0:
            raise ValueError(f"WEFT_IO_HOST_RATES: {entry!r} is not host=requests per second")
        rates[key.strip().lower()] = value
    return rates


def _bucket(rate: float) -> AsyncLimiter:
    """`rate` requests per second, in a bucket of one second's requests (at least one)."""
    return AsyncLimiter(max(rate, 1.0), max(rate, 1.0) / rate)


def gate_waits(gate: Gate) -> bool:
    """Whether entering the gate now would wait."""
    if isinstance(gate, AsyncLimiter):
        return not gate.has_capacity()
    return gate.locked()


class IOGates:
    """Per host key: a semaphore of `per_host` slots and, where a rate is set, a limiter;
    per rate limit key of a call (a credential's), a limiter at that rate."""

    def __init__(self, *, per_host: int, rates: dict[str, float]) -> None:
        self.per_host = per_host
        self.rates = rates
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._limiters: dict[str, AsyncLimiter | None] = {}
        self._own: dict[str, tuple[float, AsyncLimiter]] = {}
        self._booked: dict[tuple[str, str], float] = {}  # rate limit -> its next free turn
        self._reserved: dict[int, float] = {}  # node run -> the turn booked for it

    def turn_s(self, call: NetworkCall, *, node_run_id: int) -> float:
        """Seconds until the call's turn under its rate limits (0: none, or now), the
        turn booked; a node given back to the database keeps the turn it was given."""
        now = time.monotonic()
        reserved = self._reserved.pop(node_run_id, None)
        if reserved is not None:
            return max(0.0, reserved - now)
        rates = self._rates(call)
        if not rates:
            return 0.0
        turn = max([now, *(self._booked.get(key, now) for key, _ in rates)])
        for key, rate in rates:
            self._booked[key] = turn + 1.0 / rate
        return turn - now

    def reserve(self, node_run_id: int, wait_s: float) -> None:
        """Keep the turn `wait_s` from now for the node, given back to the database."""
        now = time.monotonic()
        if len(self._reserved) > 10_000:
            self._reserved = {pk: at for pk, at in self._reserved.items()
                              if at > now - RESERVATION_KEPT_S}
        self._reserved[node_run_id] = now + wait_s

    def _rates(self, call: NetworkCall) -> list[tuple[tuple[str, str], float]]:
        rates = [(("own", limit.key), limit.per_s) for limit in call.rate_limits]
        if call.host and self.rates:
            host_limit = self.limiter(call.host)
            if host_limit is not None:
                rates.append((("host", call.host), host_limit.max_rate / host_limit.time_period))
        return rates

    def gates(self, call: NetworkCall) -> list[Gate]:
        """What the call passes, in order: its own rate limits first (so that a call
        waiting for its credential's turn holds no slot of its host, which other
        credentials' calls to that host may use), then its host's slot and rate."""
        found: list[Any] = [self.limiter_of(limit) for limit in call.rate_limits]
        found += [self.slots(call.host), self.limiter(call.host)]
        return [gate for gate in found if gate is not None]

    def slots(self, host: str) -> asyncio.Semaphore | None:
        if not host:
            return None
        if host not in self._slots:
            self._slots[host] = asyncio.Semaphore(self.per_host)
        return self._slots[host]

    def limiter(self, host: str) -> AsyncLimiter | None:
        """The host's rate limit (host:port, then host, then "*"), or None."""
        if not host or not self.rates:
            return None
        if host not in self._limiters:
            name = host.rpartition(":")[0] or host
            rate = self.rates.get(host) or self.rates.get(name) or self.rates.get("*")
            self._limiters[host] = _bucket(rate) if rate else None
        return self._limiters[host]

    def limiter_of(self, limit: RateLimit) -> AsyncLimiter:
        """The limiter of a call's own rate limit, shared by every call under its key;
        a new one when its rate changed (the credential was edited)."""
        known = self._own.get(limit.key)
        if known is None or known[0] != limit.per_s:
            known = self._own[limit.key] = (limit.per_s, _bucket(limit.per_s))
        return known[1]
