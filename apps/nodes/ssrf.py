"""An httpx transport that refuses to connect to non-public addresses (SSRF guard).

Every request, and so every redirect hop (httpx sends each hop through the
transport), is checked *after* DNS resolution: the host name is resolved once,
every address it resolves to must be public (not private, loopback, link-local,
multicast, reserved, unspecified, shared/CGNAT, or an IPv4-mapped form of those),
and the connection then goes to that checked address, so a second DNS answer
cannot swap in an internal one (DNS rebinding). The Host header keeps the name
and TLS uses it for SNI and certificate checks.

`allow` lists exceptions: CIDRs ("10.0.0.0/8", "127.0.0.1/32") or host names
("billing.internal"). Checked before any connection is attempted, so a refused
request sends no traffic anywhere.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class SSRFBlocked(httpx.TransportError):
    """The destination is not a public address and is not on the allow-list."""


def is_public(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            return is_public(mapped)
        if ip.teredo is not None:
            return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_loopback
                                 or ip.is_link_local or ip.is_private or ip.is_unspecified)


def parse_allow(entries: Iterable[str]) -> tuple[tuple[Network, ...], frozenset[str]]:
    networks: list[Network] = []
    names: set[str] = set()
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            names.add(entry.lower().rstrip("."))
    return tuple(networks), frozenset(names)


def _system_resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


class _Guard:
    """The checks shared by the transports: `allow` and the addresses a name resolves to."""

    def __init__(self, allow: Iterable[str]) -> None:
        self.networks, self.names = parse_allow(allow)

    def _allowed(self, ip: IPAddress) -> bool:
        return is_public(ip) or any(ip in network for network in self.networks
                                    if network.version == ip.version)

    @staticmethod
    def literal(host: str) -> str | None:
        name = host.lower().rstrip(".")
        try:
            return str(ipaddress.ip_address(name.strip("[]").split("%")[0]))
        except ValueError:
            return None

    def checked(self, host: str, addresses: list[str]) -> str:
        """The address to connect to among those `host` resolved to, or SSRFBlocked."""
        if not addresses:
            raise httpx.ConnectError(f"Cannot resolve {host!r}.")
        if host.lower().rstrip(".") in self.names:
            return addresses[0]
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%")[0])
            if not self._allowed(ip):
                raise SSRFBlocked(f"Refused to connect to {host!r}: it resolves to {ip}, "
                                  "which is not a public address (add it to "
                                  "WEFT_HTTP_ALLOW_HOSTS to allow it).")
        return addresses[0]


def _pinned(request: httpx.Request) -> tuple[httpx.URL, int]:
    """The request's URL and port, refusing schemes other than http(s)."""
    url = request.url
    if url.scheme not in ("http", "https"):
        raise SSRFBlocked(f"Refused the scheme {url.scheme!r}: only http and https.")
    return url, url.port or (443 if url.scheme == "https" else 80)


def _to_address(request: httpx.Request, url: httpx.URL, address: str) -> None:
    """Connect to the checked address; httpx set the Host header from the name when the
    request was built. The caller puts the URL back afterwards so that redirects and
    `response.url` are relative to the name, not the address."""
    if url.scheme == "https":
        request.extensions = {**request.extensions, "sni_hostname": url.host}
    request.url = url.copy_with(host=address)


class GuardedTransport(httpx.HTTPTransport):
    def __init__(self, *, allow: Iterable[str] = (),
                 resolve: Callable[[str, int], list[str]] = _system_resolve,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.guard = _Guard(allow)
        self.resolve = resolve

    def check(self, host: str, port: int) -> str:
        """The address to connect to, or SSRFBlocked."""
        literal = self.guard.literal(host)
        if literal is not None:
            return self.guard.checked(host, [literal])
        try:
            addresses = self.resolve(host.lower().rstrip("."), port)
        except (OSError, UnicodeError) as exc:
            raise httpx.ConnectError(f"Cannot resolve {host!r}: {exc}") from None
        return self.guard.checked(host, addresses)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url, port = _pinned(request)
        _to_address(request, url, self.check(url.host, port))
        try:
            return super().handle_request(request)
        finally:
            request.url = url


async def _system_resolve_async(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


class AsyncGuardedTransport(httpx.AsyncHTTPTransport):
    """The same guard for httpx's async client: the name is resolved without blocking
    the event loop, then every address checked, then the connection pinned to it."""

    def __init__(self, *, allow: Iterable[str] = (),
                 resolve: Callable[[str, int], Awaitable[list[str]]] = _system_resolve_async,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.guard = _Guard(allow)
        self.resolve = resolve

    async def check(self, host: str, port: int) -> str:
        literal = self.guard.literal(host)
        if literal is not None:
            return self.guard.checked(host, [literal])
        try:
            addresses = await self.resolve(host.lower().rstrip("."), port)
        except (OSError, UnicodeError) as exc:
            raise httpx.ConnectError(f"Cannot resolve {host!r}: {exc}") from None
        return self.guard.checked(host, addresses)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url, port = _pinned(request)
        _to_address(request, url, await self.check(url.host, port))
        try:
            return await super().handle_async_request(request)
        finally:
            request.url = url
