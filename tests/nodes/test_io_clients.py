"""The HTTP clients the I/O executor shares: their connections are kept alive between
calls, one the server has closed meanwhile is noticed before it is used again
(apps.nodes.io answers httpcore's "is the idle socket readable?" itself), and calls in
flight together are spread over small connection pools."""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import threading
from collections import Counter

from apps.nodes.io import POOL_REQUESTS, IOClients
from tests.fixtures.slow_http import SlowReceiver

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok"


class _Server:
    """Answers each connection's requests with 200 "ok"; closes a connection after
    `requests_per_connection` answers (as a server whose keep-alive ran out)."""

    def __init__(self, requests_per_connection: int) -> None:
        self.limit = requests_per_connection
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            for _ in range(self.limit):
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                conn.sendall(ANSWER)

    def close(self) -> None:
        self.sock.close()


def _on_a_loop_of_its_own(coroutine):
    # A thread of its own: in a full session this one may already hold the browser
    # tests' loop, and asyncio.run() refuses to start a second one there.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _get_twice(server: _Server) -> list[int]:
    io = IOClients()
    url = f"http://127.0.0.1:{server.port}/"
    try:
        with io.http_lease(allow=["127.0.0.1/32"]) as client:
            first = await client.get(url)
        await asyncio.sleep(0.2)  # the server may close the idle connection meanwhile
        with io.http_lease(allow=["127.0.0.1/32"]) as client:
            second = await client.get(url)
        return [first.status_code, second.status_code]
    finally:
        await io.aclose()


def test_a_connection_is_kept_alive_between_calls():
    server = _Server(requests_per_connection=10)
    try:
        assert _on_a_loop_of_its_own(_get_twice(server)) == [200, 200]
        assert server.connections == 1
    finally:
        server.close()


def test_a_connection_the_server_closed_is_replaced_not_reused():
    server = _Server(requests_per_connection=1)
    try:
        assert _on_a_loop_of_its_own(_get_twice(server)) == [200, 200]
        assert server.connections == 2
    finally:
        server.close()


async def _bursts(receiver: SlowReceiver, sizes: list[int]) -> list[list[tuple[int, int]]]:
    """Bursts of calls made at once through `http_lease`, one burst after another:
    (status, which client) per call."""
    io = IOClients()
    tls_contexts = set()

    async def one() -> tuple[int, int]:
        with io.http_lease(allow=["127.0.0.1/32"]) as client:
            # (httpx keeps the pool's TLS context there; making one loads the CA bundle)
            tls_contexts.add(id(client._transport._pool._ssl_context))  # noqa: SLF001
            return (await client.get(receiver.url)).status_code, id(client)

    try:
        bursts = [await asyncio.gather(*[one() for _ in range(size)]) for size in sizes]
        assert len(tls_contexts) == 1  # one for all the clients, however many
        return bursts
    finally:
        await io.aclose()


def test_calls_in_flight_together_are_spread_over_small_pools_that_keep_their_connections():
    """httpcore's pool costs each request time in the square of the connections it
    holds: calls in flight together go POOL_REQUESTS to a client, all at once (none
    waits for another), and a second burst reuses the first's connections."""
    receiver = SlowReceiver(delay_s=0.3)
    try:
        first, second = _on_a_loop_of_its_own(_bursts(receiver, [40, 40]))
        assert receiver.peak == 40  # every call of a burst in flight at the same time
        for burst in (first, second):
            assert {status for status, _ in burst} == {200}
            per_client = Counter(client for _, client in burst)
            assert len(per_client) == 40 // POOL_REQUESTS
            assert max(per_client.values()) == POOL_REQUESTS
        assert receiver.connections == 40  # the second burst opened none
    finally:
        receiver.close()


def test_calls_made_one_at_a_time_share_one_client_and_one_connection():
    receiver = SlowReceiver(delay_s=0)
    try:
        (one,), (two,), (three,) = _on_a_loop_of_its_own(_bursts(receiver, [1, 1, 1]))
        assert one[1] == two[1] == three[1]
        assert receiver.connections == 1
    finally:
        receiver.close()
