"""The WebSocket origin check: a page may open a socket only to the origin it came from.

Channels' `AllowedHostsOriginValidator` compares the Origin's host name with
ALLOWED_HOSTS and ignores scheme and port, so a page served by any other program on an
allowed host (another port of 127.0.0.1, say) could open sockets with the user's cookies.
Here the Origin must equal, in scheme, host and port, the origin the socket was opened
to (its Host header, ws -> http, wss -> https), with that host in ALLOWED_HOSTS, or be
one of CSRF_TRUSTED_ORIGINS (for a front proxy on another origin).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(scheme: str, netloc: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) with the scheme's default port filled in; None if malformed."""
    try:
        parts = urlsplit(f"{scheme}://{netloc}")
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname or scheme not in DEFAULT_PORTS:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def _parse_origin(value: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        return None
    return _origin(parts.scheme.lower(), parts.netloc)


def _served_scheme(scope, headers: dict[bytes, bytes]) -> str:
    """The scheme the page was served over: the socket's own, or https when Django's
    SECURE_PROXY_SSL_HEADER says a front proxy terminated TLS (the same rule as Django)."""
    if scope.get("scheme") == "wss":
        return "https"
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy_header:
        name, secure_value = proxy_header
        raw = name.removeprefix("HTTP_").replace("_", "-").lower().encode("latin1")
        if headers.get(raw, b"").decode("latin1").split(",")[0].strip() == secure_value:
            return "https"
    return "http"


def origin_allowed(scope) -> bool:
    headers = {name.lower(): value for name, value in scope.get("headers", [])}
    origin_header = headers.get(b"origin")
    if origin_header is None:
        return False
    origin = _parse_origin(origin_header.decode("latin1"))
    if origin is None:
        return False
    trusted = {_parse_origin(o) for o in settings.CSRF_TRUSTED_ORIGINS} - {None}
    if origin in trusted:
        return True
    host = headers.get(b"host", b"").decode("latin1")
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return False
    return origin == _origin(_served_scheme(scope, headers), host)


class SameOriginValidator:
    """ASGI middleware for WebSockets: refuse (close before accepting) a socket whose
    Origin is not the site's own origin or a trusted one."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            raise ValueError("SameOriginValidator only guards WebSocket connections.")
        if origin_allowed(scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
