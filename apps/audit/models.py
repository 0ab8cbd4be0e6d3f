from __future__ import annotations

from django.db import models

from apps.audit.chain import CONTENT_FIELDS


class AuditEvent(models.Model):
    """One recorded action. Rows are only ever inserted, by apps.audit.services;
    the database refuses UPDATE, DELETE and TRUNCATE (see migration 0001).

    The table is created by that migration and left unmanaged so that nothing
    Django does, not even the test runner's flush, can truncate it."""

    seq = models.BigIntegerField(primary_key=True)
    at = models.DateTimeField()
    actor_type = models.CharField(max_length=16)
    actor_id = models.CharField(max_length=128, blank=True, default="")
    actor_label = models.CharField(max_length=200, blank=True, default="")
    # The person behind a user or API-token actor (no foreign key: users may go).
    user_id = models.BigIntegerField(null=True, blank=True)
    action = models.CharField(max_length=100)
    target_type = models.CharField(max_length=64, blank=True, default="")
    target_id = models.CharField(max_length=128, blank=True, default="")
    target_label = models.CharField(max_length=300, blank=True, default="")
    request_id = models.CharField(max_length=64, blank=True, default="")
    run_id = models.CharField(max_length=64, blank=True, default="")
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        managed = False
        db_table = "audit_event"
        ordering = ["-seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"

    def content(self) -> dict:
        return {name: getattr(self, name) for name in CONTENT_FIELDS}

    @property
    def actor_display(self) -> str:
        return self.actor_label or self.actor_id or self.actor_type

    @property
    def target_display(self) -> str:
        if not self.target_type:
            return ""
        return self.target_label or f"{self.target_type} {self.target_id}"


class AuditPending(models.Model):
    """An event recorded in a busy transaction (a model call's, in the step that settles
    its node) and not yet on the chain: inserted without the chain's lock, so hundreds of
    model calls a second do not queue on it. apps.audit.services.audit_pending_chain
    moves these onto the chain in batches, one lock each, oldest first."""

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField()
    event = models.JSONField()  # the resolved columns but seq, at and the hashes

    class Meta:
        db_table = "audit_pending"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"pending {self.event.get('action', '')}"
