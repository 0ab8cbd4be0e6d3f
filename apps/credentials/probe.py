""""Test" a credential: send one request with it to a URL among its allowed hosts, the
way the HTTP node would (its SSRF guard, its host check, no redirects followed), and
say what came back. The secret is never part of the answer; the test is audited."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from apps.audit.services import audit_record
from apps.credentials.crypto import decrypt_secret
from apps.credentials.models import Credential
from apps.credentials.services import ResolvedCredential
from apps.nodes.base import NodeError
from apps.nodes.ssrf import SSRFBlocked
from apps.nodes.types.http import credential_use, http_client

TEST_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    message: str
    status: int | None = None


def credential_probe(*, credential: Credential, url: str, user) -> ProbeResult:
    """GET `url` with the credential: ok when the answer is 2xx or 3xx."""
    secret = decrypt_secret(Credential.objects.values_list(
        "secret_encrypted", flat=True).get(pk=credential.pk))
    use = credential_use(ResolvedCredential(
        id=str(credential.pk), name=credential.name, kind=credential.kind, secret=secret,
        allowed_hosts=tuple(credential.allowed_hosts)))
    try:
        target = httpx.URL(url)
        if target.scheme not in ("http", "https") or not target.host:
            raise ValueError
    except (ValueError, httpx.InvalidURL):
        result = ProbeResult(False, "Give an http:// or https:// URL to try the credential on.")
    else:
        result = _send(use, target)
    audit_record(action="credential.test", actor=user, target=credential,
                 data={"name": credential.name, "url": str(url)[:500], "ok": result.ok,
                       "status": result.status})
    return result


def _send(use, target: httpx.URL) -> ProbeResult:
    try:
        use.check_host(target)
        with http_client(timeout_s=TEST_TIMEOUT_S, follow_redirects=False) as client:
            response = client.get(target, headers=use.headers, params=use.query)
    except NodeError as exc:
        return ProbeResult(False, exc.message)
    except SSRFBlocked as exc:
        return ProbeResult(False, str(exc))
    except httpx.HTTPError as exc:
        return ProbeResult(False, f"No answer from {target.host}: {type(exc).__name__}.")
    ok = response.status_code < 400
    verdict = "accepted" if ok else "refused"
    # The status code only: a reason phrase or body comes from the server and might echo
    # the secret.
    return ProbeResult(ok, f"{target.host} {verdict} it: HTTP {response.status_code}.",
                       status=response.status_code)
