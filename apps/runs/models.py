"""Run state lives here, in PostgreSQL (DESIGN.md contract 3).

Only the runs service writes a status: `apps.runs.services.transitions` (its
transition tables and compare-and-set moves) and `apps.runs.rows` (a step's writes).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models.functions import Now


class RunStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    PAUSED = "paused"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class NodeStatus(models.TextChoices):
    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class RunMode(models.TextChoices):
    PRODUCTION = "production"  # a published version
    TEST = "test"              # a test snapshot of the draft (apps.runs.test_runs)


class Run(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workflow = models.ForeignKey("workflows.Workflow", on_delete=models.PROTECT,
                                 related_name="runs")
    version = models.ForeignKey("workflows.WorkflowVersion", on_delete=models.PROTECT,
                                related_name="runs")
    trigger = models.CharField(max_length=20, default="manual")
    # Test runs never fire error triggers and do not count toward the concurrency limit.
    mode = models.CharField(max_length=10, choices=RunMode.choices, default=RunMode.PRODUCTION)
    input = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=RunStatus.choices,
                              default=RunStatus.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    deadline_at = models.DateTimeField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)
    # Who or what started it: a user (maybe through a token), or a trigger.
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    started_by_token = models.ForeignKey("accounts.ApiToken", on_delete=models.SET_NULL,
                                         null=True, blank=True, related_name="+")
    trigger_ref = models.CharField(max_length=200, blank=True, default="")
    trace_id = models.CharField(max_length=32, db_index=True)
    parent_run = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True,
                                   related_name="children")
    parent_node_run = models.ForeignKey("runs.NodeRun", on_delete=models.CASCADE, null=True,
                                        blank=True, related_name="child_runs")
    vars = models.JSONField(default=dict, blank=True)
    # What a `respond` node answered, for synchronous webhooks.
    response = models.JSONField(null=True, blank=True)
    # The values in the run's input and (once it succeeded) its result, case-folded, for
    # the runs page's payload search (apps.runs.search): a GIN index finds a run by an
    # order id or an e-mail among millions. Node outputs are not indexed.
    search_terms = ArrayField(models.CharField(max_length=200), default=list, blank=True)
    # The sequence number of the run's last live event (apps.runs.events): events carry
    # theirs, a snapshot carries this, and a client drops events at or below it.
    event_seq = models.BigIntegerField(default=0, db_default=0)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["workflow", "-created_at"]),
            # The runs page's "this workflow, failed" (or any status): the first page
            # straight from the index, also when nothing matches.
            models.Index(fields=["workflow", "status", "-created_at"],
                         name="run_workflow_status"),
            models.Index(fields=["status", "created_at"]),
            models.Index(fields=["-created_at"]),
            GinIndex(fields=["search_terms"], name="run_search_terms"),
            # Retention's batches, oldest finished first (apps.runs.retention).
            models.Index(fields=["finished_at", "id"], name="run_finished",
                         condition=models.Q(parent_run__isnull=True,
                                            finished_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} ({self.status})"


class NodeRun(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="node_runs")
    node_id = models.CharField(max_length=64)
    node_type = models.CharField(max_length=100, default="")
    attempt = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=10, choices=NodeStatus.choices,
                              default=NodeStatus.PENDING)
    inputs = models.JSONField(default=dict, blank=True)
    outputs = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When a pending row (a retry, a resumed pause) or a waiting row (a timer) is due.
    due_at = models.DateTimeField(null=True, blank=True)
    delivery_count = models.PositiveIntegerField(default=0)
    # Who runs it now ("<celery worker name>#<pid>") and until when that holds unless
    # renewed: a heartbeat extends it while the node runs; a redelivery finds the node
    # taken while the lease holds and its holder is alive.
    worker = models.CharField(max_length=200, blank=True, default="")
    lease_until = models.DateTimeField(null=True, blank=True)
    # The outbox: a queued row's message is "not yet published" while this is null
    # (written so in the step's transaction); set once the broker took the message.
    # Worker processes send unpublished rows again (apps.runs.outbox).
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # What a waiting node waits for, and engine bookkeeping (map progress).
    state = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["run", "created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "node_id", "attempt"],
                                               name="node_run_unique_attempt")]
        indexes = [
            models.Index(fields=["status", "due_at"], name="node_run_due",
                         condition=models.Q(status__in=["pending", "waiting"])),
            models.Index(fields=["status", "queued_at"], name="node_run_queued",
                         condition=models.Q(status="queued")),
            models.Index(fields=["queued_at"], name="node_run_unpublished",
                         condition=models.Q(status="queued", dispatched_at__isnull=True)),
            models.Index(fields=["worker"], name="node_run_running_holder",
                         condition=models.Q(status="running")),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.node_id}#{self.attempt} ({self.status})"


class MapItem(models.Model):
    """One item of a map-over-list node: its input, its result, its child run."""

    node_run = models.ForeignKey(NodeRun, on_delete=models.CASCADE, related_name="map_items")
    index = models.PositiveIntegerField()
    input = models.JSONField(null=True)
    output = models.JSONField(null=True)
    error = models.JSONField(null=True)
    done = models.BooleanField(default=False)
    child_run = models.ForeignKey(Run, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["node_run", "index"],
                                               name="map_item_unique_index")]

    def __str__(self) -> str:
        return f"{self.node_run_id}[{self.index}]"


class EngineSwitch(models.Model):
    """The kill switch: a row per paused workflow, or the global row (workflow null)."""

    workflow = models.OneToOneField("workflows.Workflow", on_delete=models.CASCADE, null=True,
                                    blank=True, related_name="engine_switch")
    paused = models.BooleanField(default=False)
    reason = models.CharField(max_length=500, blank=True, default="")
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workflow"], name="one_switch_per_workflow",
                                               nulls_distinct=False)]

    def __str__(self) -> str:
        return f"{self.workflow_id or 'all workflows'}: {'paused' if self.paused else 'on'}"


class WorkflowRuntime(models.Model):
    """Per-workflow engine settings and trigger bookkeeping: the webhook's secret URL
    and signing key, the schedule's next due time (the sweep claims it with
    compare-and-set), the most runs that may be in flight at once."""

    workflow = models.OneToOneField("workflows.Workflow", on_delete=models.CASCADE,
                                    related_name="runtime")
    webhook_secret = models.CharField(max_length=64, unique=True)
    signing_key = models.CharField(max_length=64)
    schedule_next_at = models.DateTimeField(null=True, blank=True, db_index=True)
    schedule_version = models.PositiveIntegerField(null=True, blank=True)
    max_concurrency = models.PositiveIntegerField(null=True, blank=True)
    run_timeout_s = models.PositiveIntegerField(null=True, blank=True)
    # The webhook's test URL (apps.runs.test_webhooks): armed by "Listen" in the editor
    # until this time (PostgreSQL's clock), for one request, which starts a test run of
    # the draft as the user who armed it; `test_run_id`: the run that request started.
    test_listen_until = models.DateTimeField(null=True, blank=True)
    test_listen_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                       null=True, blank=True, related_name="+")
    test_run_id = models.UUIDField(null=True, blank=True)
    # Days after which finished runs are deleted (apps.runs.retention); null: the
    # defaults WEFT_RUN_RETENTION_DAYS and WEFT_FAILED_RUN_RETENTION_DAYS.
    retention_days = models.PositiveIntegerField(null=True, blank=True)
    failed_retention_days = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"runtime of {self.workflow_id}"


class ReceiptKind(models.TextChoices):
    SIGNATURE = "signature"        # a signed webhook request (timestamp and body)
    WEBHOOK_KEY = "webhook_key"    # an Idempotency-Key sent to the webhook
    API_KEY = "api_key"            # an Idempotency-Key sent to POST /api/workflows/<id>/runs/


class RequestReceipt(models.Model):
    """A request that started a run, kept so that the same request sent again answers
    with that run instead of starting another: a signed webhook for the signature's
    tolerance window, an Idempotency-Key for 24 hours. Stamped with PostgreSQL's clock
    (DESIGN.md contract 13); the sweep deletes rows past their time. `key` is a SHA-256,
    so neither a key nor a body is stored. `run_id` is not a foreign key: the row is
    written just before its run, in the same transaction, and outlives no window."""

    workflow = models.ForeignKey("workflows.Workflow", on_delete=models.CASCADE,
                                 related_name="+", db_index=False)
    kind = models.CharField(max_length=12, choices=ReceiptKind.choices)
    key = models.CharField(max_length=64)
    body_sha256 = models.CharField(max_length=64)
    run_id = models.UUIDField()
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workflow", "kind", "key"],
                                               name="request_receipt_unique")]
        indexes = [models.Index(fields=["kind", "created_at"], name="request_receipt_age")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key[:12]} -> {self.run_id}"


class WorkerHeartbeat(models.Model):
    """A process that executes nodes (a lease holder, named as in NodeRun.worker),
    alive while `beat_at` is recent. Stamped with PostgreSQL's clock by the process
    itself every few seconds: a node whose holder stopped beating is stranded and is
    sent again at once (apps.runs.outbox), without waiting for its lease."""

    holder = models.CharField(max_length=200, primary_key=True)
    beat_at = models.DateTimeField()
    started_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.holder} beat at {self.beat_at}"


class SweepMark(models.Model):
    """When a periodic sweep last ran, by PostgreSQL's clock. Beat sends a sweep every
    second to whichever worker is free; the mark lets a worker skip one that another
    ran a moment ago (a backlog after workers were away costs one statement each),
    without Celery's message expiry, which each worker judges by its own clock."""

    name = models.CharField(max_length=50, primary_key=True)
    swept_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} swept at {self.swept_at}"
