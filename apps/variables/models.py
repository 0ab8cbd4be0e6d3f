"""Variables: named, non-secret values every expression reads as `vars.NAME`.

A run keeps the values it saw (`Run.vars`, written when it starts), so a past run stays
explainable after a variable changes. Secrets belong in credentials, not here."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower


class Variable(models.Model):
    name = models.CharField(max_length=64)
    value = models.TextField(blank=True, default="")
    description = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["name"]
        # `Region` and `region` cannot sit side by side: one would hide the other in
        # people's reading, although expressions tell them apart.
        constraints = [models.UniqueConstraint(Lower("name"), name="variable_name_unique_ci")]

    def __str__(self) -> str:
        return self.name
