"""A WebSocket is accepted only from the site's own origin: scheme, host and port."""

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from channels.testing import WebsocketCommunicator

from config.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


def _close_code(*, origin: bytes | None, host: bytes = b"testserver:8000",
                scheme: str = "ws", extra=()) -> int:
    """Connect anonymously to a run's socket and return the close code: 4403 means the
    origin check let it through (the consumer then refused the anonymous user)."""
    headers = [(b"host", host), *extra]
    if origin is not None:
        headers.append((b"origin", origin))

    async def connect():
        communicator = WebsocketCommunicator(application, f"/ws/runs/{uuid.uuid4()}/",
                                             headers=headers)
        communicator.scope["scheme"] = scheme
        connected, code = await communicator.connect(timeout=5)
        assert connected is False
        return code

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, connect()).result(timeout=30)


def test_the_sites_own_origin_passes():
    assert _close_code(origin=b"http://testserver:8000") == 4403


@pytest.mark.parametrize("origin", [
    b"http://testserver:8001",   # same host, another port
    b"http://testserver",        # default port 80, not 8000
    b"https://testserver:8000",  # another scheme
    b"http://evil.example:8000",
    b"null",
    b"http://testserver:8000/path",
])
def test_another_origin_is_refused(origin):
    assert _close_code(origin=origin) != 4403


def test_no_origin_is_refused():
    assert _close_code(origin=None) != 4403


def test_default_ports_and_tls_are_compared_as_origins():
    assert _close_code(origin=b"http://testserver", host=b"testserver") == 4403
    assert _close_code(origin=b"https://testserver", host=b"testserver", scheme="wss") == 4403
    assert _close_code(origin=b"http://testserver", host=b"testserver", scheme="wss") != 4403


def test_a_host_outside_allowed_hosts_is_refused():
    assert _close_code(origin=b"http://evil.example:8000", host=b"evil.example:8000") != 4403


def test_trusted_origins_pass(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://weft.example.com"]
    assert _close_code(origin=b"https://weft.example.com") == 4403
    assert _close_code(origin=b"https://weft.example.com:8443") != 4403
