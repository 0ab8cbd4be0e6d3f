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


class VersionKind(models.TextChoices):
    PUBLISHED = "published"
    TEST = "test"


class PublishedVersions(models.Manager):
    """Published versions only: what `WorkflowVersion.objects` and `workflow.versions`
    list. Test snapshots are reached from their runs (`run.version`, the base manager)
    or through `WorkflowVersion.all_objects`."""

    def get_queryset(self):
        return super().get_queryset().filter(kind=VersionKind.PUBLISHED)


class WorkflowVersion(models.Model):
    """An immutable snapshot of a workflow's graph: a published version (numbered), or
    the test snapshot of the draft a test run ran (no number, never listed among the
    versions, kept with its run so the run can always be drawn on the graph it ran)."""

    workflow = models.ForeignKey(Workflow, on_delete=models.PROTECT, related_name="versions")
    kind = models.CharField(max_length=10, choices=VersionKind.choices,
                            default=VersionKind.PUBLISHED)
    number = models.PositiveIntegerField(null=True, blank=True)  # null: a test snapshot
    graph = models.JSONField()
    # A test snapshot: node id -> the outputs (per port) used instead of running the node
    # (the draft's pins, and for "run this node" the upstream data of earlier test runs).
    pins = models.JSONField(null=True, blank=True)
    # A test snapshot: the draft's revision it was taken from.
    draft_revision = models.PositiveIntegerField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    all_objects = models.Manager()
    objects = PublishedVersions()

    class Meta:
        ordering = ["-number"]
        default_manager_name = "objects"
        base_manager_name = "all_objects"
        constraints = [
            models.UniqueConstraint(fields=["workflow", "number"], name="workflow_version_unique"),
            models.CheckConstraint(
                condition=(models.Q(kind=VersionKind.PUBLISHED, number__isnull=False)
                           | models.Q(kind=VersionKind.TEST, number__isnull=True)),
                name="workflow_version_numbered_iff_published"),
        ]

    def __str__(self) -> str:
        if self.kind == VersionKind.TEST:
            return f"{self.workflow_id} test snapshot {self.pk}"
        return f"{self.workflow_id} v{self.number}"


class NodePin(models.Model):
    """A node's output pinned in the draft: test runs of the draft use it instead of
    running the node (no HTTP call, no inference). Pins never apply to published
    versions. `outputs` holds data as the builder gave it (port -> value), unescaped:
    the engine escapes it like any node's output when a test run stores it."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="pins")
    node_id = models.CharField(max_length=64)
    outputs = models.JSONField()
    # Where it came from: a run's id, or empty when pasted.
    source_run = models.UUIDField(null=True, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["node_id"]
        constraints = [models.UniqueConstraint(fields=["workflow", "node_id"],
                                               name="node_pin_unique")]

    def __str__(self) -> str:
        return f"pin of {self.workflow_id}/{self.node_id}"
