"""The HTTP request node: templated method, URL, headers and JSON body; auth from a
stored credential; timeouts, a response size cap, and an SSRF guard that is on by
default (apps.nodes.ssrf). 5xx, 429 and connection errors are retryable failures: the
engine's policy (`config.policy`) retries them with backoff, never sooner than a
`Retry-After` the server sent, then fails or continues on the `error` port.

Every request carries the run's trace as a W3C `traceparent` header and an
`Idempotency-Key: <run_id>:<node_id>` header, the same on every attempt, so a
receiving API can drop a repeat of the same node run.

Credentials stay where they belong:
- a credential goes only to the hosts it names (`allowed_hosts`): the node refuses a
  URL, or a redirect target, on any other host, with an error naming both, and
  publish reports a static URL that does not fit;
- redirects are followed here, hop by hop: on a redirect to another origin (scheme,
  host and port, as browsers do with Authorization) every header and query parameter
  that the credential supplied is removed, and stays removed for the later hops;
- the secret values (and their encoded forms) are masked in everything the node
  returns or raises (apps.audit.redaction), so a server that echoes them back cannot
  get them stored in the run.
Only http and https URLs are accepted; a URL that is static up to its scheme is
checked by the config model, so publish refuses `file://` and the like.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import json
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
from django.conf import settings
from pydantic import Field, field_validator

from apps.audit.redaction import SecretScrubber
from apps.core.inbound import max_depth
from apps.credentials.hosts import host_allowed, hosts_shown, url_host_port
from apps.credentials.kinds import secret_values
from apps.credentials.selectors import credential_get
from apps.expressions.core import ExpressionError, render_value
from apps.expressions.fields import CredentialField, TemplateField
from apps.expressions.services import expression_data
from apps.nodes.base import (
    ERROR_PORT,
    EnvironmentProblem,
    ExecutionPolicy,
    NetworkCall,
    NodeConfig,
    NodeContext,
    NodeError,
    NodeType,
    Outputs,
    Port,
    RateLimit,
    policy_field,
)
from apps.nodes.io import IOClients, perform_now
from apps.nodes.registry import registry
from apps.nodes.ssrf import GuardedTransport, SSRFBlocked

RETRY_STATUSES = {500, 502, 503, 504}
USER_AGENT = "Weft-Workflow/1.0"
MAX_RESPONSE_CAP = 50 * 1024 * 1024
MAX_REDIRECTS = 5
URL_PREFIXES = ("http://", "https://")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):")


def url_scheme_problem(url: str) -> str | None:
    """Why the run would refuse this URL for its scheme, or None. A templated URL is
    judged by its text before the first `{{`: "file://{{ x }}" is refused, while
    "{{ base }}/x" and "ht{{ s }}" are left to the run."""
    literal, templated, _ = url.partition("{{")
    text = literal.lower()
    if any(text.startswith(prefix) or (templated and prefix.startswith(text))
           for prefix in URL_PREFIXES):
        return None
    scheme = _SCHEME.match(text)
    found = (f"the scheme {scheme.group(1)!r} is refused" if scheme
             else f"it is {url[:200]!r}")
    return f"The URL must start with http:// or https://; {found}."


def url_static_host(url: str) -> tuple[str, int | None] | None:
    """The host and port of a URL whose scheme and host hold no `{{ expression }}`."""
    literal, templated, _ = url.partition("{{")
    if templated:
        _, sep, rest = literal.partition("://")
        if not sep or not any(c in rest for c in "/?#"):
            return None
    return url_host_port(literal if templated else url)


class HttpRequestConfig(NodeConfig):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = Field(
        "GET", title="Method", description="The HTTP method of the request.")
    url: str = TemplateField(min_length=1, max_length=4000, title="URL",
                             description="http(s) URL; may use {{ expression }}, e.g. "
                                         "https://api.example.com/orders/{{ input.id }}")
    query: dict[str, str] = TemplateField(default_factory=dict, title="Query parameters",
                                          description="Added to the URL; values may use "
                                                      "{{ expression }}.")
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
    timeout_s: float = Field(30.0, gt=0, le=300, title="Timeout (s)",
                             description="How long one request may take.")
    follow_redirects: bool = Field(True, title="Follow redirects",
                                   description="Follow the 3xx answers the server gives.")
    fail_on_error_status: bool = Field(True, title="Fail on 4xx/5xx",
                                       description="Otherwise the status is in the output.")
    max_response_bytes: int = Field(5 * 1024 * 1024, ge=1, le=MAX_RESPONSE_CAP,
                                    title="Largest response (bytes)",
                                    description="A larger response fails the step.")
    policy: ExecutionPolicy = policy_field(retries=2)

    @field_validator("url")
    @classmethod
    def _http_only(cls, url: str) -> str:
        problem = url_scheme_problem(url)
        if problem:
            raise ValueError(problem)
        return url


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


@dataclass(frozen=True)
class CredentialUse:
    """What a credential adds to a request, where it may go, and what to mask."""

    name: str
    allowed_hosts: tuple[str, ...]
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    query: dict[str, str] = field(default_factory=dict, repr=False)
    values: tuple[str, ...] = field(default=(), repr=False)
    # The credential's own rate limit, which every call that sends it counts against.
    rate_limits: tuple[RateLimit, ...] = ()

    def check_host(self, url: httpx.URL, *, redirected_from: httpx.URL | None = None) -> None:
        port = url.port or (443 if url.scheme == "https" else 80)
        if host_allowed(self.allowed_hosts, host=url.host, port=port):
            return
        shown = url.host if url.port is None else f"{url.host}:{url.port}"
        via = (f" (a redirect from {redirected_from.host}; it was not followed)"
               if redirected_from is not None else "")
        raise NodeError("credential_host",
                        f"Credential {self.name!r} may not be sent to {shown!r}{via}: it is "
                        f"allowed for {hosts_shown(self.allowed_hosts)}. Add the host to the "
                        "credential's allowed hosts, or choose another credential.",
                        details={"credential": self.name, "host": shown, "field": "url"})

    def strip(self, request: httpx.Request) -> None:
        """Remove every header and query parameter this credential supplied."""
        for name in self.headers:
            request.headers.pop(name, None)
        url = request.url
        for name in self.query:
            url = url.copy_remove_param(name)
        request.url = url


def credential_use(resolved: Any) -> CredentialUse:
    kind, secret = resolved.kind, resolved.secret
    headers: dict[str, str] = {}
    query: dict[str, str] = {}
    if kind == "bearer":
        headers["Authorization"] = f"Bearer {secret['token']}"
    elif kind == "basic":
        raw = f"{secret['username']}:{secret['password']}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(raw).decode("ascii")
    elif kind == "api_key":
        if secret.get("query_param"):
            query[secret["query_param"]] = secret["value"]
        else:
            headers[secret.get("header") or "X-API-Key"] = secret["value"]
    else:  # A generic secret: each entry is sent as a header of that name.
        headers.update({str(k): str(v) for k, v in secret.items()})
    per_s = getattr(resolved, "requests_per_s", None)
    limits = (RateLimit(f"credential:{resolved.id}", per_s),) if per_s else ()
    return CredentialUse(name=getattr(resolved, "name", str(getattr(resolved, "id", ""))),
                         allowed_hosts=tuple(getattr(resolved, "allowed_hosts", ())),
                         headers=headers, query=query,
                         values=tuple(secret_values(kind, secret)), rate_limits=limits)


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80)


@asynccontextmanager
async def _exchange(client: httpx.AsyncClient, request: httpx.Request, *, follow: bool,
                    use: CredentialUse | None) -> AsyncIterator[httpx.Response]:
    """Send `request`, following up to MAX_REDIRECTS redirects when `follow` is set.
    With a credential, every hop must go to one of its hosts, and from the first
    hop to another origin on, what the credential supplied is no longer sent."""
    origin = _origin(request.url)
    carrying = use is not None
    if use is not None:
        use.check_host(request.url)
    hops = 0
    while True:
        response = await client.send(request, stream=True)
        following = response.next_request if follow else None
        if following is None:
            break
        await response.aclose()
        hops += 1
        if hops > MAX_REDIRECTS:
            raise httpx.TooManyRedirects("Exceeded maximum allowed redirects.",
                                         request=following)
        if use is not None:
            use.check_host(following.url, redirected_from=request.url)
            if carrying and _origin(following.url) != origin:
                use.strip(following)
                carrying = False
        request = following
    try:
        yield response
    finally:
        await response.aclose()


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


def render_field(value: Any, data: dict[str, Any], field: str) -> Any:
    """A config field's templates filled from expression data; a failure is the node's
    `expression` error naming the field (also for other node types' fields)."""
    try:
        return render_value(value, data)
    except ExpressionError as exc:
        raise NodeError("expression", f"Field {field!r}: {exc.message}",
                        details={"field": field}) from None


async def _read_capped(response: httpx.Response, limit: int) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise NodeError("response_too_large", f"The response is {int(declared):,} bytes; "
                        f"the limit is {limit:,}.")
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
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
        except RecursionError:  # past the interpreter's limit, far past the engine's
            raise NodeError("invalid_output", "The response body (outputs.out.body) is JSON "
                            f"nested more than {max_depth()} levels deep.") from None
    try:
        return raw.decode(response.encoding or "utf-8")
    except (LookupError, UnicodeDecodeError):
        return base64.b64encode(raw).decode("ascii")


def http_client(*, timeout_s: float, follow_redirects: bool,
                allow: list[str] | None = None) -> httpx.Client:
    """An httpx client behind the SSRF guard (also for other node types' I/O)."""
    allow = settings.WEFT_HTTP_ALLOW_HOSTS if allow is None else allow
    return httpx.Client(transport=GuardedTransport(allow=allow), timeout=timeout_s,
                        follow_redirects=follow_redirects, max_redirects=MAX_REDIRECTS,
                        trust_env=False)


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

    @classmethod
    def check_environment(cls, config: HttpRequestConfig) -> list[EnvironmentProblem]:  # type: ignore[override]
        """At publish: a credential's allowed hosts include the URL's host, when the
        host is written out (a host from an expression is checked when the node runs)."""
        if not config.credential:
            return []
        target = url_static_host(config.url)
        if target is None:
            return []
        credential = credential_get(credential_id=config.credential)
        if credential is None:
            return [EnvironmentProblem(f"credential {config.credential} does not exist",
                                       code="credential_missing", field="config.credential")]
        host, port = target
        if host_allowed(credential.allowed_hosts, host=host, port=port):
            return []
        return [EnvironmentProblem(
            f"credential {credential.name!r} may not be sent to {host!r}: it is allowed for "
            f"{hosts_shown(credential.allowed_hosts)}", code="credential_host",
            field="config.url")]

    waits_on_network = True

    def execute(self, context: NodeContext, config: HttpRequestConfig) -> Outputs:  # type: ignore[override]
        return perform_now(self.prepare(context, config))

    def prepare(self, context: NodeContext, config: HttpRequestConfig) -> HttpCall:  # type: ignore[override]
        data = expression_data(context)
        url = str(render_field(config.url, data, "url"))
        headers = {str(k): str(v) for k, v in render_field(config.headers, data, "headers").items()}
        query = {str(k): str(v) for k, v in render_field(config.query, data, "query").items()}
        body = render_field(config.body, data, "body") if config.body is not None else None
        problem = url_scheme_problem(url) if "{{" not in url else None
        if problem or not url.lower().startswith(URL_PREFIXES):
            raise NodeError("invalid_url", problem or f"The URL must start with http:// or "
                            f"https://; it is {url[:200]!r}.", details={"field": "url"})
        headers.setdefault("User-Agent", USER_AGENT)
        headers["traceparent"] = traceparent(context.trace_id or context.run_id)
        headers["Idempotency-Key"] = f"{context.run_id}:{context.node_id}"
        use = (credential_use(_resolve_credential(context, config.credential))
               if config.credential else None)
        if use is not None:
            headers.update(use.headers)
            query.update(use.query)
        return HttpCall(config=config, url=url, headers=headers, query=query, body=body,
                        use=use, attempt=context.attempt, host=_host_key(url),
                        rate_limits=use.rate_limits if use is not None else ())


def _host_key(url: str) -> str:
    """The per-host cap's key of a URL: its host and port."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return ""
    return f"{parsed.host}:{parsed.port or (443 if parsed.scheme == 'https' else 80)}"


@dataclass
class HttpCall(NetworkCall):
    """One HTTP request of a node, ready to send (templates rendered, credential added)."""

    config: HttpRequestConfig
    url: str
    headers: dict[str, str]
    query: dict[str, str]
    body: Any
    use: CredentialUse | None
    attempt: int
    host: str = ""
    rate_limits: tuple[RateLimit, ...] = ()

    async def perform(self, io: IOClients) -> Outputs:
        scrubber = SecretScrubber(self.use.values if self.use else ())
        try:
            with io.http_lease() as client:
                result = await self._call(client, scrubber)
        except NodeError as exc:  # masked in place, keeping what the engine reads
            exc.message = scrubber.text(exc.message)
            exc.args = (exc.message,)
            exc.details = scrubber.scrub(exc.details)
            raise
        return Outputs({"out": result})

    async def _call(self, client: httpx.AsyncClient, scrubber: SecretScrubber
                    ) -> dict[str, Any]:
        config, url = self.config, self.url
        send_body = self.body is not None and config.method not in ("GET", "HEAD")
        retries_left = self.attempt <= config.policy.retries
        try:
            request = client.build_request(config.method, url, params=self.query or None,
                                           headers=self.headers, timeout=config.timeout_s,
                                           json=self.body if send_body else None)
            async with _exchange(client, request, follow=config.follow_redirects,
                                 use=self.use) as response:
                if _retryable_status(response.status_code) and (
                        config.fail_on_error_status or retries_left):
                    # The engine's policy retries (never a sleep in this worker slot),
                    # after at least what the server asked for.
                    raise NodeError(
                        "http_status", f"{config.method} {url} answered "
                        f"{response.status_code}.", retryable=True,
                        retry_after_s=retry_after_s(response.headers.get("retry-after")),
                        details={"status": response.status_code})
                raw = await _read_capped(response, config.max_response_bytes)
        except SSRFBlocked as exc:
            raise NodeError("ssrf_blocked", str(exc)) from None
        except httpx.TooManyRedirects:
            raise NodeError("too_many_redirects",
                            f"More than {MAX_REDIRECTS} redirects.") from None
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError
                ) as exc:
            raise NodeError("connection", f"{exc.__class__.__name__}: {exc}",
                            retryable=True) from None
        except httpx.HTTPError as exc:
            raise NodeError("http", f"{exc.__class__.__name__}: {exc}") from None
        result = scrubber.scrub({
            "status": response.status_code,
            "headers": dict(response.headers),
            "body": _decode(response, raw),
            "url": str(response.url),
            "attempts": self.attempt,
        })
        if config.fail_on_error_status and response.status_code >= 400:
            raise NodeError("http_status", f"{config.method} {url} answered "
                            f"{response.status_code}.",
                            details={"status": response.status_code,
                                     "body": str(result["body"])[:1000]})
        return result


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
