"""What nodes that wait on the network share on one event loop: HTTP clients behind
the SSRF guard (one connection pool per allow-list) and, per Triton server, its asyncio
clients. Owned by the loop that uses them (apps.runs.io_executor keeps one per
process); `perform_now` runs one call on a loop of its own (a node executed outside
the executor: a test, a node run from the editor)."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import select
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpcore
import httpx
from django.conf import settings

from apps.nodes.base import NetworkCall, Outputs
from apps.nodes.ssrf import AsyncGuardedTransport

# Calls in flight on one HTTP client (one httpcore connection pool) before the next client
# takes new ones, and idle connections each keeps. httpcore's pool goes over all its
# connections, and for each idle one over all of them again, whenever a request starts
# or ends: its cost per request grows with the square of what it holds (one pool of 32
# kept-alive connections spent about half the io worker's CPU there). It closes an idle
# connection whenever it holds more connections than its keep-alive number, so that
# number must cover the calls it has in flight for its connections to be reused. At low
# load one client (and its connections) serves every call.
POOL_REQUESTS = 8
KEEPALIVE_CONNECTIONS = POOL_REQUESTS


def _readable(sock: Any) -> bool:
    """Whether an idle connection's socket has something to read (the server closed
    it), as httpcore asks; a closed socket counts as readable (expired)."""
    if sock is None or sock.fileno() == -1:
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


class _Stream(httpcore.AsyncNetworkStream):
    """A connection of httpcore's own backend that answers "is_readable" from its
    socket kept at hand: the pool asks it of every idle connection on each request,
    and the backend's answer rebuilt the stream's attributes (a getpeername call
    included) each time."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return _readable(self._socket)
        return self._inner.get_extra_info(info)


class _Backend(httpcore.AsyncNetworkBackend):
    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._inner.connect_tcp(*args, **kwargs))

    async def connect_unix_socket(self, *args: Any,
                                  **kwargs: Any) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._inner.connect_unix_socket(*args, **kwargs))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _pooled(transport: httpx.AsyncHTTPTransport) -> httpx.AsyncHTTPTransport:
    """`transport` with its connections made by `_Backend`."""
    pool = transport._pool  # noqa: SLF001 - httpx builds the pool; its backend is ours to wrap
    if not isinstance(pool, httpcore.AsyncConnectionPool):
        raise TypeError(f"expected httpcore's connection pool, not {type(pool).__name__}")
    pool._network_backend = _Backend(pool._network_backend)  # noqa: SLF001
    return transport


class _Clients:
    """The HTTP clients of one allow-list, each with its own connection pool; counted
    in flight by `IOClients.http_lease` (on the loop's thread only)."""

    def __init__(self, allow: list[str], max_connections: int | None) -> None:
        self.allow = allow
        self.max_connections = max_connections
        self.clients: list[httpx.AsyncClient] = []
        self.in_flight: list[int] = []
        # Enough clients for max_connections calls at POOL_REQUESTS each (None: no end).
        self.most = -(-max_connections // POOL_REQUESTS) if max_connections else None
        # One TLS context for all of them: making one loads the CA bundle (about 20 ms of
        # the loop's time and half a megabyte each).
        self.ssl_context = httpx.create_ssl_context()

    def client(self, index: int) -> httpx.AsyncClient:
        while len(self.clients) <= index:
            limits = httpx.Limits(max_connections=self.max_connections,
                                  max_keepalive_connections=KEEPALIVE_CONNECTIONS,
                                  keepalive_expiry=15)
            transport = _pooled(AsyncGuardedTransport(allow=self.allow, limits=limits,
                                                      verify=self.ssl_context))
            self.clients.append(httpx.AsyncClient(transport=transport, follow_redirects=False,
                                                  trust_env=False))
            self.in_flight.append(0)
        return self.clients[index]

    def pick(self) -> int:
        """The first client with room under POOL_REQUESTS, a new one when all are
        that busy (up to enough for max_connections), else the least busy."""
        for index, count in enumerate(self.in_flight):
            if count < POOL_REQUESTS:
                return index
        if self.most is None or len(self.in_flight) < self.most:
            return len(self.in_flight)
        return min(range(len(self.in_flight)), key=self.in_flight.__getitem__)


class IOClients:
    """Shared clients, created on first use, closed together."""

    def __init__(self, *, max_connections: int | None = None) -> None:
        self.max_connections = max_connections
        self._http: dict[tuple[str, ...], _Clients] = {}
        self._other: dict[Any, Any] = {}

    def _clients(self, allow: list[str] | None) -> _Clients:
        allow = list(settings.WEFT_HTTP_ALLOW_HOSTS if allow is None else allow)
        key = tuple(allow)
        clients = self._http.get(key)
        if clients is None:
            clients = self._http[key] = _Clients(allow, self.max_connections)
        return clients

    @contextlib.contextmanager
    def http_lease(self, *, allow: list[str] | None = None) -> Iterator[httpx.AsyncClient]:
        """An HTTP client behind the SSRF guard for one call (its redirects included:
        the caller's to follow, each hop through the guard; timeouts set per request).
        The calls in flight at once are spread over several clients (POOL_REQUESTS)."""
        clients = self._clients(allow)
        index = clients.pick()
        client = clients.client(index)
        clients.in_flight[index] += 1
        try:
            yield client
        finally:
            clients.in_flight[index] -= 1

    def shared(self, key: Any, make: Callable[[], Any]) -> Any:
        """Another client kept for the loop's life (e.g. a Triton server's), made once;
        closed with `aclose()` (or `close()`) when the loop ends."""
        found = self._other.get(key)
        if found is None:
            found = self._other[key] = make()
        return found

    async def aclose(self) -> None:
        for clients in self._http.values():
            for client in clients.clients:
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
