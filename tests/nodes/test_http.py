"""The HTTP node against a real local http.server on 127.0.0.1 (loopback allowed for
those tests only), and the SSRF guard, which must refuse before connecting."""

import asyncio
import concurrent.futures
import json
import socket
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from apps.nodes.base import NodeContext, NodeError
from apps.nodes.registry import registry
from apps.nodes.ssrf import GuardedTransport, SSRFBlocked, is_public
from apps.nodes.types.http import retry_after_s


class Handler(BaseHTTPRequestHandler):
    seen: list = []
    flaky = {"left": 0}

    def log_message(self, *args):
        pass

    def _reply(self, status, body, headers=()):
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for key, value in headers:
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self):  # noqa: N802
        self.seen.append({"path": self.path, "headers": dict(self.headers)})
        if self.path.startswith("/flaky"):
            if self.flaky["left"] > 0:
                self.flaky["left"] -= 1
                return self._reply(503, {"error": "busy"})
            return self._reply(200, {"ok": True})
        if self.path == "/big":
            return self._reply(200, {"data": "x" * 5000})
        if self.path == "/redirect-relative":
            self.send_response(302)
            self.send_header("Location", "/echo")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if self.path == "/busy":
            return self._reply(429, {"error": "slow down"}, [("Retry-After", "7")])
        if self.path.startswith("/missing"):
            return self._reply(404, {"error": "no"})
        return self._reply(200, {"path": self.path})

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"null")
        self.seen.append({"path": self.path, "headers": dict(self.headers), "body": body})
        return self._reply(201, {"received": body})


@pytest.fixture
def server():
    Handler.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def allow_loopback(settings):
    settings.WEFT_HTTP_ALLOW_HOSTS = ["127.0.0.1/32"]


def call(config, inputs=None, **context):
    node = registry.get("http.request")
    parsed = node.Config.model_validate(config)
    assert node().check(parsed) == []
    ctx = NodeContext(run_id="run-7", node_id="fetch", attempt=1, inputs={"in": inputs or {}},
                      trace_id="4bf92f3577b34da6a3ce929d0e0e4736", **context)
    return node().execute(ctx, parsed)


def test_get_with_templates_trace_and_idempotency(server, allow_loopback):
    out = call({"url": server + "/orders/{{ input.id }}", "query": {"q": "{{ input.q }}"},
                "headers": {"X-Who": "{{ run.input.user }}"}},
               {"id": 42, "q": "a b"}, run={"input": {"user": "ann"}}).ports["out"]
    assert out["status"] == 200
    assert out["body"] == {"path": "/orders/42?q=a+b"}
    headers = Handler.seen[-1]["headers"]
    assert headers["X-Who"] == "ann"
    assert headers["Idempotency-Key"] == "run-7:fetch"
    assert headers["traceparent"].startswith("00-4bf92f3577b34da6a3ce929d0e0e4736-")
    assert headers["Host"] == server.removeprefix("http://")


def test_the_node_runs_in_a_thread_whose_event_loop_is_running(server, allow_loopback):
    """Executed outside the I/O worker (a node run from the editor, a test) where this
    thread already runs an event loop, the call still goes out."""

    async def inside_a_loop():
        return call({"url": server + "/orders/7"})

    # A thread of its own: in a full session this one may already hold the browser
    # tests' loop, and asyncio.run() refuses to start a second one there.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        result = pool.submit(asyncio.run, inside_a_loop()).result()
    assert result.ports["out"]["body"] == {"path": "/orders/7"}


def test_post_json_body_keeps_types(server, allow_loopback):
    out = call({"method": "POST", "url": server + "/items",
                "body": {"n": "{{ input.n }}", "label": "n={{ input.n }}"}}, {"n": 3})
    assert out.ports["out"]["status"] == 201
    assert Handler.seen[-1]["body"] == {"n": 3, "label": "n=3"}


def test_5xx_and_429_are_retryable_failures_that_carry_retry_after(server, allow_loopback):
    """The node never retries or sleeps itself: the engine's policy does, no sooner than
    the server's Retry-After (see tests/runs/test_failure_policy.py)."""
    Handler.flaky["left"] = 1
    with pytest.raises(NodeError) as exc:
        call({"url": server + "/flaky"})
    assert (exc.value.type, exc.value.retryable) == ("http_status", True)
    assert exc.value.details == {"status": 503}
    assert len(Handler.seen) == 1
    with pytest.raises(NodeError) as busy:
        call({"url": server + "/busy"})
    assert (busy.value.retryable, busy.value.retry_after_s) == (True, 7.0)
    out = call({"url": server + "/flaky"}).ports["out"]
    assert (out["status"], out["attempts"]) == (200, 1)


def test_retry_after_reads_seconds_and_http_dates():
    from email.utils import format_datetime

    soon = datetime.now(UTC) + timedelta(seconds=90)
    assert retry_after_s("120") == 120.0
    assert 80 < retry_after_s(format_datetime(soon, usegmt=True)) <= 90
    assert retry_after_s("soon") is None
    assert retry_after_s(None) is None


def test_with_error_statuses_in_the_output_the_last_try_returns_the_503(server,
                                                                       allow_loopback):
    Handler.flaky["left"] = 1
    config = {"url": server + "/flaky", "fail_on_error_status": False,
              "policy": {"retries": 0}}
    assert call(config).ports["out"]["status"] == 503


def test_error_status_size_cap_and_relative_redirects(server, allow_loopback):
    with pytest.raises(NodeError) as exc:
        call({"url": server + "/missing"})
    assert exc.value.type == "http_status"
    assert exc.value.retryable is False
    assert call({"url": server + "/missing", "fail_on_error_status": False}
                ).ports["out"]["status"] == 404
    with pytest.raises(NodeError) as big:
        call({"url": server + "/big", "max_response_bytes": 1000})
    assert big.value.type == "response_too_large"
    redirected = call({"url": server + "/redirect-relative"}).ports["out"]
    assert redirected["body"] == {"path": "/echo"}
    assert redirected["url"] == server + "/echo"


def test_credentials_authenticate_without_reaching_the_output(server, allow_loopback,
                                                              create_credential):
    credential = create_credential(kind="bearer", secret={"token": "tok-secret-1"})
    out = call({"url": server + "/private", "credential": str(credential.pk)})
    assert Handler.seen[-1]["headers"]["Authorization"] == "Bearer tok-secret-1"
    assert "tok-secret-1" not in json.dumps(out.ports)
    key = create_credential(kind="api_key", secret={"header": "X-Api-Key", "value": "k-1"})
    call({"url": server + "/private", "credential": str(key.pk)})
    assert Handler.seen[-1]["headers"]["X-Api-Key"] == "k-1"
    with pytest.raises(NodeError) as exc:
        call({"url": server + "/private",
              "credential": "00000000-0000-4000-8000-000000000000"})
    assert exc.value.type == "credential_missing"


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/", "http://10.1.2.3/", "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:9/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/", "http://localhost:9/",
])
def test_ssrf_guard_refuses_non_public_addresses(url, monkeypatch, settings):
    settings.WEFT_HTTP_ALLOW_HOSTS = []
    # Refused before any connection: no socket may be opened.
    monkeypatch.setattr(socket.socket, "connect", lambda *a: pytest.fail("connected"))
    with pytest.raises(NodeError) as exc:
        call({"url": url})
    assert exc.value.type == "ssrf_blocked"
    assert exc.value.retryable is False


def test_ssrf_guard_checks_every_redirect(server, settings):
    # The first hop is allowed by name (a stand-in for a public host); its redirect to
    # a loopback address by IP is refused.
    port = server.rsplit(":", 1)[1]

    def resolve(host, port_):
        return ["127.0.0.1"]

    transport = GuardedTransport(allow=["public.example"], resolve=resolve)
    with httpx.Client(transport=transport, follow_redirects=True) as client:
        first = client.get(f"http://public.example:{port}/echo")
        assert first.status_code == 200
        assert Handler.seen[-1]["headers"]["Host"] == f"public.example:{port}"

    class Redirect(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{port}/echo")
            self.send_header("Content-Length", "0")
            self.end_headers()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    before = len(Handler.seen)
    try:
        with httpx.Client(transport=GuardedTransport(allow=["public.example"], resolve=resolve),
                          follow_redirects=True) as client, pytest.raises(SSRFBlocked):
            client.get(f"http://public.example:{httpd.server_address[1]}/")
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert len(Handler.seen) == before  # the loopback target was never reached


def test_dns_answers_are_checked_and_pinned():
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])
    transport = GuardedTransport(resolve=lambda host, port: next(answers))
    assert transport.check("example.org", 80) == "93.184.216.34"
    with pytest.raises(SSRFBlocked):
        transport.check("example.org", 80)  # a rebinding answer
    mixed = GuardedTransport(resolve=lambda host, port: ["93.184.216.34", "10.0.0.1"])
    with pytest.raises(SSRFBlocked):
        mixed.check("example.org", 80)


def test_public_address_rules():
    import ipaddress

    for address in ("127.0.0.1", "10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254",
                    "100.64.0.1", "224.0.0.1", "240.0.0.1", "0.0.0.0", "::1", "fe80::1",
                    "fc00::1", "::ffff:10.0.0.1", "ff02::1"):
        assert not is_public(ipaddress.ip_address(address)), address
    for address in ("93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"):
        assert is_public(ipaddress.ip_address(address)), address
