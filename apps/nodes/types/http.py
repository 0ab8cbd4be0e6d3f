"""The HTTP request node: templated method, URL, headers and JSON body; auth from a
stored credential; timeouts, a response size cap, and an SSRF guard that is on by
default (apps.nodes.ssrf). 5xx, 429 and connection errors are retryable failures: the
engine's policy (`config.policy`) retries them with backoff, never sooner than a
`Retry-After` the server sent, then fails or continues on the `error` port.

Every request carries the run's trace as a W3C `traceparent` header and an
`Idempotency-Key: <run_id>:<node_id>` header, the same on every attempt, so a
receiving API can drop a repeat of the same node run.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import json
import secrets
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
from django.conf import settings
from pydantic import Field

from apps.expressions.core import ExpressionError, render_value
from apps.expressions.fields import CredentialField, TemplateField
from apps.expressions.services import expression_data
from apps.nodes.base import (
    ERROR_PORT,
    ExecutionPolicy,
    NodeConfig,
    NodeContext,
    NodeError,
    NodeType,
    Outputs,
    Port,
    policy_field,
)
from apps.nodes.registry import registry
from apps.nodes.ssrf import GuardedTransport, SSRFBlocked

RETRY_STATUSES = {500, 502, 503, 504}
USER_AGENT = "Weft-Workflow/1.0"
MAX_RESPONSE_CAP = 50 * 1024 * 1024


class HttpRequestConfig(NodeConfig):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = Field(
        "GET", title="Method")
    url: str = TemplateField(min_length=1, max_length=4000, title="URL",
                             description="http(s) URL; may use {{ expression }}, e.g. "
                                         "https://api.example.com/orders/{{ input.id }}")
    query: dict[str, str] = TemplateField(default_factory=dict, title="Query parameters")
    headers: dict[str, str] = TemplateField(default_factory=dict, title="Headers",
                                            description="Values may use {{ expression }}. "
                                                        "Put secrets in a credential, not here.")
    body: Any = TemplateField(None, title="JSON body",
                              description="Sent as JSON (not with GET or HEAD); strings "
                                          "inside may use {{ expression }}; a string that is "
                                          "exactly one {{ expression }} keeps its type.")
    credential: str | None = CredentialField(None, title="Credential",
                                             kinds=("bearer", "basic", "api_key", "secret"),
                                             description="Stored credential used to "
                                                         "authenticate the request.")
    timeout_s: float = Field(30.0, gt=0, le=300, title="Timeout (s)")
    follow_redirects: bool = Field(True, title="Follow redirects")
    fail_on_error_status: bool = Field(True, title="Fail on 4xx/5xx",
                                       description="Otherwise the status is in the output.")
    max_response_bytes: int = Field(5 * 1024 * 1024, ge=1, le=MAX_RESPONSE_CAP,
                                    title="Largest response (bytes)")
    policy: ExecutionPolicy = policy_field(retries=2)


def _upgrade_v1(config: dict[str, Any]) -> dict[str, Any]:
    """Version 1 retried inside the worker slot with its own fields: they become the
    engine's policy (5xx, 429 and connection errors are retried, Retry-After kept)."""
    retries = config.pop("retries", 2)
    backoff_s = config.pop("backoff_s", 0.5)
    config["policy"] = {"retries": retries, "backoff_s": backoff_s}
    return config


def traceparent(trace_id: str) -> str:
    """A W3C traceparent for the run's trace (any id is folded into 32 hex digits)."""
    trace = trace_id.lower().replace("-", "")
    if len(trace) != 32 or any(c not in "0123456789abcdef" for c in trace) or set(trace) == {"0"}:
        trace = hashlib.sha256((trace_id or secrets.token_hex(16)).encode()).hexdigest()[:32]
    return f"00-{trace}-{secrets.token_hex(8)}-01"


def _auth_headers(resolved: Any) -> dict[str, str]:
    kind, secret = resolved.kind, resolved.secret
    if kind == "bearer":
        return {"Authorization": f"Bearer {secret['token']}"}
    if kind == "basic":
        raw = f"{secret['username']}:{secret['password']}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}
    if kind == "api_key":
        return {secret.get("header") or "X-API-Key": secret["value"]}
    # A generic secret: each entry is sent as a header of that name.
    return {str(k): str(v) for k, v in secret.items()}


def _resolve_credential(context: NodeContext, credential_id: str) -> Any:
    resolver = context.credentials or (context.services or {}).get("credentials")
    if resolver is None:
        from apps.credentials.services import credential_resolve as resolver
    try:
        return resolver(credential_id=credential_id, run_id=context.run_id,
                        node_id=context.node_id)
    except LookupError:
        raise NodeError("credential_missing", f"Credential {credential_id} does not exist; "
                        "choose another in the node's settings.") from None


def _render(value: Any, data: dict[str, Any], field: str) -> Any:
    try:
        return render_value(value, data)
    except ExpressionError as exc:
        raise NodeError("expression", f"Field {field!r}: {exc.message}",
                        details={"field": field}) from None


def _read_capped(response: httpx.Response, limit: int) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise NodeError("response_too_large", f"The response is {int(declared):,} bytes; "
                        f"the limit is {limit:,}.")
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise NodeError("response_too_large", f"The response is over the limit of "
                            f"{limit:,} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(response: httpx.Response, raw: bytes) -> Any:
    content_type = response.headers.get("content-type", "")
    if "json" in content_type and raw:
        try:
            return json.loads(raw)
        except ValueError:
            pass
    try:
        return raw.decode(response.encoding or "utf-8")
    except (LookupError, UnicodeDecodeError):
        return base64.b64encode(raw).decode("ascii")


def http_client(*, timeout_s: float, follow_redirects: bool,
                allow: list[str] | None = None) -> httpx.Client:
    """An httpx client behind the SSRF guard (also for other node types' I/O)."""
    allow = settings.WEFT_HTTP_ALLOW_HOSTS if allow is None else allow
    return httpx.Client(transport=GuardedTransport(allow=allow), timeout=timeout_s,
                        follow_redirects=follow_redirects, max_redirects=5, trust_env=False)


@registry.register
class HttpRequestNode(NodeType):
    type = "http.request"
    version = 2
    category = "integration"
    label = "HTTP request"
    description = "Calls an HTTP API and outputs its status, headers and body."
    icon = "globe"
    queue = "io"
    inputs = (Port("in", required=False),)
    outputs = (Port("out"), Port(ERROR_PORT, label="On error", required=False))
    Config = HttpRequestConfig
    upgrades = {1: _upgrade_v1}

    def execute(self, context: NodeContext, config: HttpRequestConfig) -> Outputs:
        data = expression_data(context)
        url = str(_render(config.url, data, "url"))
        headers = {str(k): str(v) for k, v in _render(config.headers, data, "headers").items()}
        query = {str(k): str(v) for k, v in _render(config.query, data, "query").items()}
        body = _render(config.body, data, "body") if config.body is not None else None
        if not url.startswith(("http://", "https://")):
            raise NodeError("invalid_url", f"The URL must start with http:// or https://; it "
                            f"is {url[:200]!r}.", details={"field": "url"})
        headers.setdefault("User-Agent", USER_AGENT)
        headers["traceparent"] = traceparent(context.trace_id or context.run_id)
        headers["Idempotency-Key"] = f"{context.run_id}:{context.node_id}"
        if config.credential:
            headers.update(_auth_headers(_resolve_credential(context, config.credential)))
        send_body = body is not None and config.method not in ("GET", "HEAD")
        retries_left = context.attempt <= config.policy.retries
        with http_client(timeout_s=config.timeout_s,
                         follow_redirects=config.follow_redirects) as client:
            try:
                with client.stream(config.method, url, params=query or None, headers=headers,
                                   json=body if send_body else None) as response:
                    if _retryable_status(response.status_code) and (
                            config.fail_on_error_status or retries_left):
                        # The engine's policy retries (never a sleep in this worker slot),
                        # after at least what the server asked for.
                        raise NodeError(
                            "http_status", f"{config.method} {url} answered "
                            f"{response.status_code}.", retryable=True,
                            retry_after_s=retry_after_s(response.headers.get("retry-after")),
                            details={"status": response.status_code})
                    raw = _read_capped(response, config.max_response_bytes)
            except SSRFBlocked as exc:
                raise NodeError("ssrf_blocked", str(exc)) from None
            except httpx.TooManyRedirects:
                raise NodeError("too_many_redirects", "More than 5 redirects.") from None
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError
                    ) as exc:
                raise NodeError("connection", f"{exc.__class__.__name__}: {exc}",
                                retryable=True) from None
            except httpx.HTTPError as exc:
                raise NodeError("http", f"{exc.__class__.__name__}: {exc}") from None
        result = {
            "status": response.status_code,
            "headers": dict(response.headers),
            "body": _decode(response, raw),
            "url": str(response.url),
            "attempts": context.attempt,
        }
        if config.fail_on_error_status and response.status_code >= 400:
            raise NodeError("http_status", f"{config.method} {url} answered "
                            f"{response.status_code}.",
                            details={"status": response.status_code,
                                     "body": str(result["body"])[:1000]})
        return Outputs({"out": result})


def _retryable_status(status: int) -> bool:
    return status in RETRY_STATUSES or status == 429


def retry_after_s(value: str | None) -> float | None:
    """Seconds from an HTTP Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
