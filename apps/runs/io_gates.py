"""The I/O executor's limits for the APIs it calls, per worker process: calls in flight
at once per host (host:port, WEFT_IO_PER_HOST), requests per second per host
(WEFT_IO_HOST_RATES) and requests per second of the call's own rate limits (a
credential's "Requests per second"). Every rate limit is the same mechanism, aiolimiter's
leaky bucket of one second's requests. Used on the executor's event loop only."""

from __future__ import annotations

import asyncio
from typing import Any

from aiolimiter import AsyncLimiter

from apps.nodes.base import NetworkCall, RateLimit

Gate = asyncio.Semaphore | AsyncLimiter


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
