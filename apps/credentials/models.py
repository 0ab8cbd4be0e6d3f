import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models


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
    (see migration 0002); the API flags it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=CredentialKind.choices)
    description = models.CharField(max_length=500, blank=True, default="")
    secret_encrypted = models.TextField()
    allowed_hosts = ArrayField(models.CharField(max_length=300), default=list, blank=True)
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
