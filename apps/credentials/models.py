import math
import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models

# The most requests per second a credential's limit may name.
MAX_REQUESTS_PER_S = 100_000.0


def requests_per_s_validate(value: float | None) -> None:
    """A credential's requests per second: empty (no limit) or a number over 0."""
    if value is None:
        return
    if not math.isfinite(value) or not 0 < value <= MAX_REQUESTS_PER_S:
        raise ValidationError(f"Give a number of requests per second over 0 (at most "
                              f"{MAX_REQUESTS_PER_S:,.0f}), or leave it empty for no limit.",
                              code="invalid")


class CredentialKind(models.TextChoices):
    BEARER = "bearer", "Bearer token"
    BASIC = "basic", "Basic auth"
    API_KEY = "api_key", "API key (header or query parameter)"
    SECRET = "secret", "Generic secret"


class Credential(models.Model):
    """A named secret that nodes use by id. `secret_encrypted` holds a Fernet
    token of the secret's JSON; the plaintext is never stored, returned by the
    API, logged or written into run data.

    `allowed_hosts` lists where the secret may be sent (apps.credentials.hosts): the
    HTTP node refuses any other host, and publish reports a node whose URL is not
    among them. "*" (any host) is only given to credentials that predate the list
    (see migration 0002); the API flags it.

    `requests_per_s`, when set, limits every node call that sends the credential to that
    many requests per second across the I/O worker process's calls (the same limiter and
    the same durable hold as a host's rate limit, apps.runs.io_gates); empty: no limit."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=CredentialKind.choices)
    description = models.CharField(max_length=500, blank=True, default="")
    secret_encrypted = models.TextField()
    allowed_hosts = ArrayField(models.CharField(max_length=300), default=list, blank=True)
    requests_per_s = models.FloatField(null=True, blank=True,
                                       validators=[requests_per_s_validate])
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"
