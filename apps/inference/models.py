"""Triton servers that inference nodes may call, by name."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.inference import crypto


class TritonServer(models.Model):
    HTTP, GRPC = "http", "grpc"
    PROTOCOLS = [(HTTP, "HTTP"), (GRPC, "gRPC")]

    name = models.CharField(max_length=100, unique=True)
    url = models.CharField(max_length=500, help_text="host:port, or with http(s):// or grpc(s)://")
    protocol = models.CharField(max_length=8, choices=PROTOCOLS, default=HTTP)
    headers = models.JSONField(default=dict, blank=True, help_text="Sent with every request.")
    # Headers whose values are secret (an access token), encrypted (crypto.py); never returned.
    secret_headers_encrypted = models.TextField(blank=True, default="")
    secret_header_names = models.JSONField(default=list, blank=True)
    tls_verify = models.BooleanField(default=True)
    ca_path = models.CharField(max_length=500, blank=True, default="")
    timeout_s = models.FloatField(default=10.0)
    is_active = models.BooleanField(default=True)
    # Models to look for when the server's repository index is empty or closed.
    model_names = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def secret_headers(self) -> dict[str, str]:
        if not self.secret_headers_encrypted:
            return {}
        value = crypto.decrypt_json(self.secret_headers_encrypted)
        return dict(value) if isinstance(value, dict) else {}

    @secret_headers.setter
    def secret_headers(self, value: dict[str, str]) -> None:
        self.secret_headers_encrypted = crypto.encrypt_json(dict(value)) if value else ""
        self.secret_header_names = sorted(value)

    @property
    def all_headers(self) -> dict[str, str]:
        """Plain and secret headers, as sent to the server."""
        return {**(self.headers or {}), **self.secret_headers}
