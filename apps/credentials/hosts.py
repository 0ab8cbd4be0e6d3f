"""The hosts a credential may be sent to (plain Python, no Django).

An entry is a host name or address, optionally with a port:

    api.example.com        that host, any port
    api.example.com:8443   that host and port only
    *.example.com          any subdomain of example.com (not example.com itself)
    10.0.0.5, [::1]:8080   addresses
    *                      any host: kept only for credentials created before hosts
                           existed (see the 0002 migration); the API flags it

Matching is case-insensitive and ignores a trailing dot. A credential with no entries
may be sent nowhere.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

ANY_HOST = "*"
MAX_HOSTS = 50
_LABEL = r"(?!-)[a-z0-9_-]{1,63}(?<!-)"
_NAME = re.compile(rf"^(\*\.)?{_LABEL}(\.{_LABEL})*$")


def host_entry_clean(entry: str) -> str:
    """The normal form of one entry, or ValueError with a message that says what is wrong."""
    if not isinstance(entry, str):
        raise ValueError("Give a host name as text.")
    text = entry.strip().lower()
    if text == ANY_HOST:
        return ANY_HOST
    if not text or "/" in text or "@" in text or "?" in text or "#" in text:
        raise ValueError(f"{entry!r} is not a host name: give only the host (and an "
                         "optional :port), e.g. 'api.example.com' or 'api.example.com:8443'.")
    host, port = text, None
    if text.startswith("["):
        inside, _, rest = text[1:].partition("]")
        host, port = inside, (rest[1:] if rest.startswith(":") else rest or None)
    elif text.count(":") == 1:
        host, port = text.split(":")
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        raise ValueError(f"{entry!r}: the port must be a number from 1 to 65535.")
    host = host.rstrip(".")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is None and not _NAME.match(host):
        raise ValueError(f"{entry!r} is not a host name.")
    shown = f"[{address}]" if isinstance(address, ipaddress.IPv6Address) else (
        str(address) if address is not None else host)
    return f"{shown}:{int(port)}" if port is not None else shown


def host_entries_clean(entries: Iterable[str]) -> list[str]:
    """Each entry cleaned, duplicates dropped; ValueError({index: message}) on bad ones."""
    entries = list(entries)
    if len(entries) > MAX_HOSTS:
        raise ValueError({"allowed_hosts": [f"Give at most {MAX_HOSTS} hosts."]})
    clean: list[str] = []
    errors: dict[str, list[str]] = {}
    for index, entry in enumerate(entries):
        try:
            value = host_entry_clean(entry)
        except ValueError as exc:
            errors[f"allowed_hosts[{index}]"] = [str(exc)]
            continue
        if value not in clean:
            clean.append(value)
    if errors:
        raise ValueError(errors)
    return clean


def _split(entry: str) -> tuple[str, int | None]:
    if entry.startswith("["):
        inside, _, rest = entry[1:].partition("]")
        return inside, int(rest[1:]) if rest.startswith(":") else None
    if entry.count(":") == 1:
        host, port = entry.split(":")
        return host, int(port)
    return entry, None


def host_allowed(entries: Iterable[str], *, host: str, port: int | None = None) -> bool:
    """Whether a request to `host` (and `port`, the effective one) may carry the credential."""
    host = host.lower().strip("[]").rstrip(".")
    for entry in entries:
        if entry == ANY_HOST:
            return True
        name, entry_port = _split(entry)
        if entry_port is not None and entry_port != port:
            continue
        if name.startswith("*."):
            if host.endswith(name[1:]) and host != name[2:]:
                return True
        elif name == host:
            return True
    return False


def url_host_port(url: str) -> tuple[str, int | None] | None:
    """The host and effective port of an http(s) URL, or None when it has none."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host:
        return None
    if port is None:
        port = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return host, port


def hosts_shown(entries: Iterable[str]) -> str:
    entries = list(entries)
    return ", ".join(entries) if entries else "none"
