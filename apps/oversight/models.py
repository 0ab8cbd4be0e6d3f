"""Model oversight: every inference recorded (`ModelCall`, kept for a retention period),
hourly aggregates per model version (`ModelHour`, rolled up on a schedule, see
rollup.py), the versions seen with their drift settings (`ModelVersion`), alert rules
and alerts.

A model version is named by (server, model, version) as the node saw them: the
server's name in Weft, the model's name on it, the version Triton served.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.db.models.functions import Now


class CallRole(models.TextChoices):
    PRIMARY = "primary"
    SHADOW = "shadow"  # the same inputs sent out of band to a shadow model


class ModelCall(models.Model):
    """One item of one inference call (a batch of n items is n rows)."""

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField()
    # When the row was written (the roll-up takes rows some seconds old, see rollup.py).
    recorded_at = models.DateTimeField(db_default=Now())
    server = models.CharField(max_length=100)
    model = models.CharField(max_length=200)
    model_version = models.CharField(max_length=32, blank=True, default="")
    role = models.CharField(max_length=8, choices=CallRole.choices, default=CallRole.PRIMARY)
    workflow_id = models.UUIDField(null=True, blank=True)
    workflow_version = models.PositiveIntegerField(null=True, blank=True)
    node_id = models.CharField(max_length=64, blank=True, default="")
    run_id = models.UUIDField(null=True, blank=True)
    item = models.PositiveIntegerField(default=0)
    # Test runs of a draft and "try it" calls: kept, but left out of aggregates and drift.
    is_test = models.BooleanField(default=False)
    latency_ms = models.FloatField()
    batch_size = models.PositiveIntegerField(default=1)
    # None: no label (an error, or no probability output), apart from an empty label.
    label = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    confidence = models.FloatField(null=True, blank=True)
    error_type = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["server", "model", "model_version", "at"],
                         name="model_call_version_at"),
            models.Index(fields=["run_id", "node_id", "item"], name="model_call_run_node",
                         condition=models.Q(run_id__isnull=False)),
            BrinIndex(fields=["at"], name="model_call_at_brin"),
        ]

    def __str__(self) -> str:
        return f"{self.model} v{self.model_version} call {self.pk}"


class ModelHour(models.Model):
    """Calls of one model version in one hour (test calls left out): counts, a latency
    histogram of fixed geometric buckets, label counts and a confidence histogram of
    fixed bins (apps.oversight.buckets)."""

    server = models.CharField(max_length=100)
    model = models.CharField(max_length=200)
    model_version = models.CharField(max_length=32, blank=True, default="")
    hour = models.DateTimeField()
    calls = models.BigIntegerField(default=0)
    errors = models.BigIntegerField(default=0)
    latency_sum_ms = models.FloatField(default=0.0)
    latency_hist = ArrayField(models.BigIntegerField(), default=list)
    confidence_hist = ArrayField(models.BigIntegerField(), default=list)
    labels = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(
            fields=["server", "model", "model_version", "hour"], name="model_hour_unique")]
        # The models list: every version's last 24 hours.
        indexes = [models.Index(fields=["hour"], name="model_hour_hour")]

    def __str__(self) -> str:
        return f"{self.model} v{self.model_version} at {self.hour:%Y-%m-%d %H}:00"


class RollupMark(models.Model):
    """How far the roll-up has read `ModelCall` (by id)."""

    name = models.CharField(max_length=40, primary_key=True)
    last_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.last_id}"


class ModelVersion(models.Model):
    """A model version seen in the records, with its drift settings and last drift."""

    server = models.CharField(max_length=100)
    model = models.CharField(max_length=200)
    model_version = models.CharField(max_length=32, blank=True, default="")
    first_seen_at = models.DateTimeField()
    psi_threshold = models.FloatField(default=0.2)
    kl_threshold = models.FloatField(default=0.15)
    # A reference window an admin pinned; empty: the first 7 days of the version.
    reference_start = models.DateTimeField(null=True, blank=True)
    reference_end = models.DateTimeField(null=True, blank=True)
    drift = models.JSONField(default=dict, blank=True)
    drift_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["server", "model", "model_version"]
        constraints = [models.UniqueConstraint(
            fields=["server", "model", "model_version"], name="model_version_unique")]

    def __str__(self) -> str:
        return f"{self.server}/{self.model}/{self.model_version or 'latest'}"


class RuleKind(models.TextChoices):
    DRIFT = "drift"            # PSI or KL (confidence or labels) above the version's thresholds
    ERROR_RATE = "error_rate"  # errors / calls above `threshold` (0..1)
    LATENCY_P99 = "latency_p99"  # p99 latency above `threshold` ms


class AlertRule(models.Model):
    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="rules")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=RuleKind.choices)
    threshold = models.FloatField(null=True, blank=True)
    window_hours = models.PositiveIntegerField(default=24)
    # Pause every workflow that uses this version (the kill switch) when it fires.
    pause_workflows = models.BooleanField(default=False)
    notify_team = models.ForeignKey("approvals.Team", on_delete=models.SET_NULL, null=True,
                                    blank=True, related_name="+")
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.name


class AlertStatus(models.TextChoices):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Alert(models.Model):
    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    status = models.CharField(max_length=14, choices=AlertStatus.choices,
                              default=AlertStatus.OPEN)
    value = models.FloatField()
    message = models.CharField(max_length=500)
    data = models.JSONField(default=dict, blank=True)
    paused_workflows = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                        null=True, blank=True, related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "-created_at"], name="alert_status")]

    def __str__(self) -> str:
        return self.message
