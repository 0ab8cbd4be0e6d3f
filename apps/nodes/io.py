"""What nodes that wait on the network share on one event loop: HTTP clients behind
the SSRF guard (one connection pool per allow-list) and, per Triton server, its asyncio
clients. Owned by the loop that uses them (apps.runs.io_executor keeps one per
process); `perform_now` runs one call on a loop of its own (a node executed outside
the executor: a test, a node run from the editor)."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from django.conf import settings

from apps.nodes.base import NetworkCall, Outputs
from apps.nodes.ssrf import AsyncGuardedTransport


class IOClients:
    """Shared clients, created on first use, closed together."""

    def __init__(self, *, max_connections: int | None = None) -> None:
        self.max_connections = max_connections
        self._http: dict[tuple[str, ...], httpx.AsyncClient] = {}
        self._other: dict[Any, Any] = {}

    def http(self, *, allow: list[str] | None = None) -> httpx.AsyncClient:
        """An HTTP client behind the SSRF guard; redirects are the caller's to follow
        (each hop goes through the guard), timeouts are set per request."""
        allow = list(settings.WEFT_HTTP_ALLOW_HOSTS if allow is None else allow)
        key = tuple(allow)
        client = self._http.get(key)
        if client is None:
            limits = httpx.Limits(max_connections=self.max_connections,
                                  max_keepalive_connections=64, keepalive_expiry=15)
            client = httpx.AsyncClient(transport=AsyncGuardedTransport(allow=allow,
                                                                       limits=limits),
                                       follow_redirects=False, trust_env=False)
            self._http[key] = client
        return client

    def shared(self, key: Any, make: Callable[[], Any]) -> Any:
        """Another client kept for the loop's life (e.g. a Triton server's), made once;
        closed with `aclose()` (or `close()`) when the loop ends."""
        found = self._other.get(key)
        if found is None:
            found = self._other[key] = make()
        return found

    async def aclose(self) -> None:
        for client in self._http.values():
            await client.aclose()
        for client in self._other.values():
            closing = getattr(client, "close", None)
            if closing is not None:
                result = closing()
                if asyncio.iscoroutine(result):
                    await result
        self._http.clear()
        self._other.clear()


def perform_now(call: NetworkCall) -> Outputs:
    """Run one network call to its end on an event loop of its own (in a thread of its
    own when this thread already runs a loop), with this thread's context."""

    async def go() -> Outputs:
        io = IOClients()
        try:
            return await call.perform(io)
        finally:
            await io.aclose()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(go())
    context = contextvars.copy_context()
    with ThreadPoolExecutor(1, thread_name_prefix="weft-call") as pool:
        return pool.submit(context.run, asyncio.run, go()).result()
