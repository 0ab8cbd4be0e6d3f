"""The I/O executor's limits per host (host:port): calls in flight at once
(WEFT_IO_PER_HOST) and requests per second (WEFT_IO_HOST_RATES, aiolimiter's leaky
bucket), per worker process. Used on the executor's event loop only."""

from __future__ import annotations

import asyncio

from aiolimiter import AsyncLimiter


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


class HostGates:
    """Per host key: a semaphore of `per_host` slots and, where a rate is set, a limiter."""

    def __init__(self, *, per_host: int, rates: dict[str, float]) -> None:
        self.per_host = per_host
        self.rates = rates
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._limiters: dict[str, AsyncLimiter | None] = {}

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
            # A bucket of one second's requests (at least one), refilled at the rate.
            self._limiters[host] = AsyncLimiter(max(rate, 1.0), max(rate, 1.0) / rate) \
                if rate else None
        return self._limiters[host]
