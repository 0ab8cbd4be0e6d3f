from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from apps.workflows.graph import empty_graph


class Workflow(models.Model):
    """A workflow and its draft graph. `revision` grows with every saved change
    of the draft; saves carry the revision they were based on (compare-and-set)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    # The name as people read it (apps.workflows.names.name_key): unique among
    # workflows that are not deleted.
    name_key = models.CharField(max_length=400, default="", editable=False)
    description = models.TextField(blank=True, default="")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="workflows")
    graph = models.JSONField(default=empty_graph)
    revision = models.PositiveIntegerField(default=1)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Accept the old webhook signature (an HMAC of the body alone, which can be replayed
    # forever) as well as the timestamped one. Off for new workflows; the migration that
    # added it turned it on for the workflows that existed then.
    webhook_legacy_signature = models.BooleanField(default=False)

    class Meta:
        ordering = ["-updated_at", "id"]
        indexes = [models.Index(fields=["deleted_at", "-updated_at"])]
        constraints = [models.UniqueConstraint(fields=["name_key"],
                                               condition=models.Q(deleted_at__isnull=True),
                                               name="workflow_name_unique")]

    def __str__(self) -> str:
        return self.name


class WorkflowVersion(models.Model):
    """An immutable published snapshot of a workflow's graph."""

    workflow = models.ForeignKey(Workflow, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    graph = models.JSONField()
    note = models.CharField(max_length=500, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "number"], name="workflow_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.workflow_id} v{self.number}"
