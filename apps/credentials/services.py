"""Everything that writes credentials, and `credential_resolve` for nodes.

Secrets go in through `credential_create` / `credential_update` and come out only
through `credential_resolve`, for use in one request. Every create, update,
delete and use is recorded in the audit log (names and kinds, never the secret).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.audit.actors import Actor
from apps.audit.redaction import secrets_in_flight_add
from apps.audit.services import audit_record
from apps.core.errors import Conflict, Unprocessable
from apps.credentials.crypto import decrypt_secret, encrypt_secret, rotate_secret
from apps.credentials.hosts import host_entries_clean
from apps.credentials.kinds import secret_values, validate_secret
from apps.credentials.models import Credential, CredentialKind


class CredentialNotFound(LookupError):
    pass


@dataclass(frozen=True)
class ResolvedCredential:
    """A decrypted credential for one request. Its repr never shows the secret,
    so a stray log line or traceback cannot leak it."""

    id: str
    name: str
    kind: str
    secret: dict[str, Any] = field(repr=False)
    allowed_hosts: tuple[str, ...] = ()
    requests_per_s: float | None = None  # its rate limit (None: none)

    def __repr__(self) -> str:
        return f"ResolvedCredential(id={self.id!r}, name={self.name!r}, kind={self.kind!r})"

    @property
    def values(self) -> list[str]:
        """The secret values to mask wherever they might show up again."""
        return secret_values(self.kind, self.secret)


def _clean_secret(kind: str, secret: Any) -> dict[str, Any]:
    try:
        return validate_secret(kind, secret)
    except ValueError as exc:
        errors = exc.args[0]
        raise Unprocessable(f"Invalid secret for a credential of kind {kind!r}.",
                            code="invalid", errors=errors) from None


def _clean_hosts(hosts: Any) -> list[str]:
    """The cleaned allowed hosts; a credential must name at least one."""
    try:
        clean = host_entries_clean(hosts)
    except ValueError as exc:
        raise Unprocessable("Invalid allowed hosts.", code="invalid",
                            errors=exc.args[0]) from None
    if not clean:
        raise Unprocessable("Name the hosts this credential may be sent to.", code="required",
                            errors={"allowed_hosts": ["Give at least one host, e.g. "
                                                      "'api.example.com'."]})
    return clean


# credential_update's "leave it as it is" (None there means "no limit").
UNCHANGED: Any = object()


def credential_create(*, name: str, kind: str, secret: dict[str, Any],
                      allowed_hosts: list[str], user=None, description: str = "",
                      requests_per_s: float | None = None) -> Credential:
    if kind not in CredentialKind.values:
        raise Unprocessable(f"Unknown kind {kind!r}.", errors={"kind": ["Unknown kind."]})
    clean = _clean_secret(kind, secret)
    hosts = _clean_hosts(allowed_hosts)
    with transaction.atomic():
        credential = Credential.objects.create(
            name=name, kind=kind, description=description, allowed_hosts=hosts,
            requests_per_s=requests_per_s, secret_encrypted=encrypt_secret(clean),
            created_by=user, updated_by=user)
        audit_record(action="credential.create", actor=user, target=credential,
                     data={"name": name, "kind": kind, "allowed_hosts": hosts,
                           "requests_per_s": requests_per_s})
    return credential


def credential_update(*, credential: Credential, user=None, name: str | None = None,
                      description: str | None = None,
                      secret: dict[str, Any] | None = None,
                      allowed_hosts: list[str] | None = None,
                      requests_per_s: float | None = UNCHANGED) -> Credential:
    """Changes what is given; `requests_per_s=None` removes the rate limit."""
    changed: list[str] = []
    if requests_per_s is not UNCHANGED and requests_per_s != credential.requests_per_s:
        credential.requests_per_s = requests_per_s
        changed.append("requests_per_s")
    if allowed_hosts is not None:
        hosts = _clean_hosts(allowed_hosts)
        if hosts != credential.allowed_hosts:
            credential.allowed_hosts = hosts
            changed.append("allowed_hosts")
    if name is not None and name != credential.name:
        credential.name = name
        changed.append("name")
    if description is not None and description != credential.description:
        credential.description = description
        changed.append("description")
    if secret is not None:
        credential.secret_encrypted = encrypt_secret(_clean_secret(credential.kind, secret))
        changed.append("secret")
    with transaction.atomic():
        credential.updated_by = user
        credential.save()
        audit_record(action="credential.update", actor=user, target=credential,
                     data={"name": credential.name, "kind": credential.kind,
                           "changed": changed, "allowed_hosts": credential.allowed_hosts,
                           "requests_per_s": credential.requests_per_s})
    return credential


def credential_delete(*, credential: Credential, user=None) -> None:
    """Refused (409 `in_use`, naming them) while workflows use the credential: their
    next run would fail."""
    from apps.credentials.selectors import credential_users

    users = credential_users(credential_id=credential.pk)
    if users:
        names = ", ".join(w["name"] for w in users[:10]) + (" …" if len(users) > 10 else "")
        raise Conflict(f"Credential {credential.name!r} is used by {len(users)} "
                       f"workflow{'s' if len(users) != 1 else ''}: {names}. Choose another "
                       "credential in their nodes first.", code="in_use",
                       workflows=[{"id": str(w["id"]), "name": w["name"]} for w in users])
    with transaction.atomic():
        audit_record(action="credential.delete", actor=user, target=credential,
                     data={"name": credential.name, "kind": credential.kind})
        credential.delete()


def credential_resolve(*, credential_id: str | uuid.UUID, run_id: str | None = None,
                       node_id: str | None = None) -> ResolvedCredential:
    """The decrypted secret of a credential, for use in one request only: never
    store it, return it from a node, or log it. Records `credential.use`, and registers
    the secret's values with the current secret scope (apps.audit.redaction), so what
    the node returns and logs is masked."""
    try:
        credential = Credential.objects.get(pk=uuid.UUID(str(credential_id)))
    except (Credential.DoesNotExist, ValueError):
        raise CredentialNotFound(f"Credential {credential_id} does not exist.") from None
    secret = decrypt_secret(credential.secret_encrypted)
    resolved = ResolvedCredential(id=str(credential.pk), name=credential.name,
                                  kind=credential.kind, secret=secret,
                                  allowed_hosts=tuple(credential.allowed_hosts),
                                  requests_per_s=credential.requests_per_s)
    secrets_in_flight_add(resolved.values)
    with transaction.atomic():
        Credential.objects.filter(pk=credential.pk).update(last_used_at=timezone.now())
        data = {"name": credential.name, "kind": credential.kind}
        if node_id:
            data["node_id"] = node_id
        audit_record(action="credential.use", actor=Actor.system("engine"),
                     target=credential, data=data, run_id=run_id)
    return resolved


def credential_rotate_all() -> int:
    """Re-encrypt every secret with the newest key (the first of
    WEFT_CREDENTIALS_KEY); afterwards older keys may be removed. Returns the count."""
    count = 0
    with transaction.atomic():
        for credential in Credential.objects.select_for_update().only("pk", "secret_encrypted"):
            Credential.objects.filter(pk=credential.pk).update(
                secret_encrypted=rotate_secret(credential.secret_encrypted))
            count += 1
        audit_record(action="credential.rotate", actor=Actor.system("weft"),
                     data={"count": count})
    return count
