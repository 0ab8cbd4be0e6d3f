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

import ipaddress
import socket
from collections.abc import Callable, Iterable

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


class GuardedTransport(httpx.HTTPTransport):
    def __init__(self, *, allow: Iterable[str] = (),
                 resolve: Callable[[str, int], list[str]] = _system_resolve,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.networks, self.names = parse_allow(allow)
        self.resolve = resolve

    def _allowed(self, ip: IPAddress) -> bool:
        return is_public(ip) or any(ip in network for network in self.networks
                                    if network.version == ip.version)

    def check(self, host: str, port: int) -> str:
        """The address to connect to, or SSRFBlocked."""
        name = host.lower().rstrip(".")
        try:
            literal = ipaddress.ip_address(name.strip("[]").split("%")[0])
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [str(literal)]
        else:
            try:
                addresses = self.resolve(name, port)
            except (OSError, UnicodeError) as exc:
                raise httpx.ConnectError(f"Cannot resolve {host!r}: {exc}") from None
            if not addresses:
                raise httpx.ConnectError(f"Cannot resolve {host!r}.")
        if name in self.names:
            return addresses[0]
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%")[0])
            if not self._allowed(ip):
                raise SSRFBlocked(f"Refused to connect to {host!r}: it resolves to {ip}, "
                                  "which is not a public address (add it to "
                                  "WEFT_HTTP_ALLOW_HOSTS to allow it).")
        return addresses[0]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ("http", "https"):
            raise SSRFBlocked(f"Refused the scheme {url.scheme!r}: only http and https.")
        port = url.port or (443 if url.scheme == "https" else 80)
        address = self.check(url.host, port)
        if url.scheme == "https":
            request.extensions = {**request.extensions, "sni_hostname": url.host}
        # Connect to the checked address; httpx set the Host header from the name
        # when the request was built. The URL is put back afterwards so that
        # redirects and `response.url` are relative to the name, not the address.
        request.url = url.copy_with(host=address)
        try:
            return super().handle_request(request)
        finally:
            request.url = url
