"""Everything that writes Triton servers, calls a model on behalf of a person,
and what the engine needs to reach a server by name (`triton_resolve`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction

from apps.audit.redaction import is_secret_key
from apps.audit.services import Actor, Target, audit_record, audit_record_later
from apps.inference.client import Connection, InferenceResult, shared_client
from apps.inference.models import TritonServer

# Fields an admin may set; `secret_headers` is merged (a null value removes a header).
FIELDS = ("name", "url", "protocol", "headers", "tls_verify", "ca_path", "timeout_s",
          "is_active", "model_names")
SECRET_HEADER_HINTS = ("token", "auth", "key", "secret", "password", "cookie")
RESOLVE_TTL_S = 10.0


def is_secret_header(name: str) -> bool:
    """Headers whose values are kept encrypted even when given as plain headers."""
    lowered = name.lower()
    return is_secret_key(name) or any(hint in lowered for hint in SECRET_HEADER_HINTS)


def triton_server_connection(server: TritonServer) -> Connection:
    """The client-side view of a server row, with its secrets decrypted."""
    return Connection.create(server.url, server.protocol, server.all_headers,
                             models=server.model_names or (), verify=server.tls_verify,
                             ca_path=server.ca_path)


def _split_secrets(headers: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    plain = {k: v for k, v in headers.items() if not is_secret_header(k)}
    secret = {k: v for k, v in headers.items() if is_secret_header(k)}
    return plain, secret


def _audit_data(server: TritonServer, changed: Sequence[str] = ()) -> dict[str, Any]:
    data: dict[str, Any] = {"name": server.name, "url": server.url, "protocol": server.protocol,
                            "is_active": server.is_active,
                            "secret_headers": list(server.secret_header_names)}
    if changed:
        data["changed"] = sorted(changed)
    return data


def _forget(*names: str) -> None:
    with _RESOLVED_LOCK:
        for name in names:
            _RESOLVED.pop(name, None)


@transaction.atomic
def triton_server_create(*, user, name: str, url: str, protocol: str = TritonServer.HTTP,
                         headers: Mapping[str, str] | None = None,
                         secret_headers: Mapping[str, str] | None = None,
                         **fields: Any) -> TritonServer:
    plain, moved = _split_secrets(headers or {})
    server = TritonServer(name=name, url=url, protocol=protocol, headers=plain,
                          created_by=user, **fields)
    server.secret_headers = {**moved, **(secret_headers or {})}
    server.save()
    audit_record(action="triton_server.create", actor=user, target=server,
                 data=_audit_data(server))
    _forget(name)
    return server


@transaction.atomic
def triton_server_update(*, server: TritonServer, user,
                         secret_headers: Mapping[str, str | None] | None = None,
                         **changes: Any) -> TritonServer:
    """Change the given fields. `headers` replaces the plain headers; `secret_headers`
    is merged into the stored ones, a null value removing that header."""
    old_name = server.name
    changed = [key for key in changes if key in FIELDS]
    for key in changed:
        setattr(server, key, changes[key])
    secrets, moved = server.secret_headers, {}
    if "headers" in changes:
        server.headers, moved = _split_secrets(changes["headers"] or {})
        secrets.update(moved)
    for key, value in (secret_headers or {}).items():
        if value is None:
            secrets.pop(key, None)
        else:
            secrets[key] = value
    if secret_headers or moved:
        changed.append("secret_headers")
    server.secret_headers = secrets  # re-encrypted with the current key
    server.save()
    audit_record(action="triton_server.update", actor=user, target=server,
                 data=_audit_data(server, changed))
    _forget(old_name, server.name)
    return server


@transaction.atomic
def triton_server_delete(*, server: TritonServer, user) -> None:
    data = _audit_data(server)
    audit_record(action="triton_server.delete", actor=user, target=server, data=data)
    server.delete()
    _forget(data["name"])


def triton_server_register(*, name: str, url: str, protocol: str,
                           secret_headers: Mapping[str, str] | None = None,
                           model_names: Sequence[str] = ()) -> tuple[TritonServer, bool]:
    """Create or update a server on Weft's own behalf (the `make run` launcher);
    idempotent. Returns (server, created)."""
    actor = Actor.system("launcher")
    with transaction.atomic():
        server = TritonServer.objects.select_for_update().filter(name=name).first()
        created = server is None
        server = server or TritonServer(name=name)
        server.url, server.protocol, server.is_active = url, protocol, True
        server.model_names = list(model_names)
        server.secret_headers = dict(secret_headers or {})
        server.save()
        audit_record(action="triton_server.create" if created else "triton_server.update",
                     actor=actor, target=server, data=_audit_data(server))
    _forget(name)
    return server, created


# -- calling a model ------------------------------------------------------------


def inference_call_record(*, server_name: str, result: InferenceResult, via: str,
                          user=None, run_id: str | None = None,
                          node_id: str | None = None, later: bool = False) -> None:
    """An `inference.call` audit event: the model (and its version) is the actor.
    `later`: onto the chain in a moment, with others (a node's call: one a run)."""
    output = result.as_output()
    data: dict[str, Any] = {"server": server_name, "model": result.model,
                            "version": result.version, "via": via,
                            "latency_ms": output["latency_ms"]}
    for key in ("label", "confidence", "count", "min_confidence"):
        if key in output:
            data[key] = output[key]
    if user is not None:
        data["requested_by"] = user.get_username()
    if node_id:
        data["node_id"] = node_id
    record = audit_record_later if later else audit_record
    record(action="inference.call", actor=Actor.model(result.model, result.version),
           target=Target("triton_server", "", server_name), data=data, run_id=run_id)


def inference_node_record(*, server: str, result: InferenceResult, run_id: str = "",
                          node_id: str = "") -> None:
    """The node's optional `inference_record` service (see nodes.py)."""
    inference_call_record(server_name=server, result=result, via="node",
                          run_id=run_id or None, node_id=node_id, later=True)


def triton_model_try(*, server: TritonServer, user, model: str, inputs: Mapping[str, Any],
                     version: str = "", outputs: Sequence[str] = ()) -> InferenceResult:
    """One inference from sample input ("try it" in the editor). Raises InferenceError."""
    client = shared_client(triton_server_connection(server), timeout_s=server.timeout_s)
    result = client.infer(model, inputs, version=version, outputs=outputs)
    inference_call_record(server_name=server.name, result=result, via="try_it", user=user)
    return result


# -- the engine's "triton" service ----------------------------------------------

_RESOLVED: dict[str, tuple[float, Connection | None]] = {}
_RESOLVED_LOCK = threading.Lock()


def triton_resolve(name: str) -> Connection | None:
    """The connection of the active server called `name`, or None (no such server,
    or switched off). Cached in this process for RESOLVE_TTL_S: plug it in as
    `NodeContext.services["triton"]`."""
    now = time.monotonic()
    with _RESOLVED_LOCK:
        cached = _RESOLVED.get(name)
    if cached and cached[0] > now:
        return cached[1]
    server = TritonServer.objects.filter(name=name, is_active=True).first()
    connection = triton_server_connection(server) if server else None
    with _RESOLVED_LOCK:
        _RESOLVED[name] = (now + RESOLVE_TTL_S, connection)
    return connection


def triton_url_parse(url: str) -> tuple[str, str]:
    """A TRITON_URL -> (url as stored, protocol). grpc:// and grpcs:// mean gRPC,
    http:// and https:// HTTP; a bare host:port is gRPC on Triton's gRPC port 8001
    and HTTP otherwise."""
    parts = urlsplit(url if "://" in url else f"//{url}")
    scheme = parts.scheme.lower()
    if scheme in ("grpc", "grpcs"):
        return (url if scheme == "grpcs" else parts.netloc), TritonServer.GRPC
    if scheme in ("http", "https"):
        return (url if scheme == "https" else parts.netloc), TritonServer.HTTP
    return parts.netloc, TritonServer.GRPC if parts.port == 8001 else TritonServer.HTTP
