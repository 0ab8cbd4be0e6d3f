"""The client's address, for every use (sign-in throttles, API throttles, the audit log).

`X-Forwarded-For` is believed only when the connection comes from a configured proxy
(WEFT_TRUSTED_PROXIES: addresses or CIDRs, empty by default). Then the header is read
from the right, skipping the addresses of trusted proxies: the first one that is not a
trusted proxy is the client (the left part of the header is whatever the client sent,
so it is never taken on trust). Without trusted proxies the header is ignored and the
client is the connection's peer (REMOTE_ADDR).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def parse_networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    """CIDRs or single addresses; raises ValueError naming a bad entry."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"{entry!r} is not an IP address or CIDR") from exc
    return tuple(networks)


def address_in(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in networks)


def trusted_proxies() -> tuple[Network, ...]:
    return parse_networks(tuple(settings.WEFT_TRUSTED_PROXIES))


def client_ip(request) -> str:
    """The address of the client that sent `request` (a Django or DRF request)."""
    meta = request.META
    peer = meta.get("REMOTE_ADDR", "") or ""
    proxies = trusted_proxies()
    if not proxies or not address_in(peer, proxies):
        return peer
    hops = [hop.strip() for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [hop for hop in hops if hop]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # garbage in the header: trust only the peer
        if not address_in(hop, proxies):
            return hop
    # Every hop is a trusted proxy: the left-most one is the closest we know.
    return hops[0] if hops else peer
