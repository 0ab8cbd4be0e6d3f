"""Human tasks (DESIGN.md contract 11): teams of reviewers, approval tasks created in
the transaction that makes their node wait, one vote per reviewer, and each task's
history. A task is decided once, by compare-and-set on its status."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class Team(models.Model):
    """Reviewers who share tasks ("Billing", "Support tier 2"); apart from the roles."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=500, blank=True, default="")
    lead = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                             blank=True, related_name="teams_led")
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="review_teams",
                                     blank=True)
    # Optional outgoing webhook (a Slack-compatible JSON message) on task events.
    webhook_url = models.URLField(max_length=2000, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TaskStatus(models.TextChoices):
    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class Decision(models.TextChoices):
    APPROVED = "approved"
    REJECTED = "rejected"


class Mode(models.TextChoices):
    ANY = "any"  # any one assignee decides
    ALL = "all"  # every listed user approves (a reject by anyone rejects)
    QUORUM = "quorum"  # N approvals (a reject by anyone rejects)


class Task(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    run = models.ForeignKey("runs.Run", on_delete=models.CASCADE, related_name="tasks")
    node_run = models.OneToOneField("runs.NodeRun", on_delete=models.CASCADE,
                                    related_name="task")
    workflow = models.ForeignKey("workflows.Workflow", on_delete=models.CASCADE,
                                 related_name="tasks")
    node_id = models.CharField(max_length=64)
    # Rendered from the node's templates when the task was created, and kept.
    title = models.CharField(max_length=300)
    instructions = models.TextField(blank=True, default="")
    context = models.JSONField(default=list, blank=True)  # [{label, value, kind}]
    form_schema = models.JSONField(null=True, blank=True)
    form_values = models.JSONField(default=dict, blank=True)
    assignee_users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True,
                                            related_name="assigned_tasks")
    assignee_teams = models.ManyToManyField(Team, blank=True, related_name="tasks")
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.ANY)
    quorum_n = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=10, choices=TaskStatus.choices,
                              default=TaskStatus.OPEN)
    claimed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="claimed_tasks")
    claimed_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    follow_up_at = models.DateTimeField(null=True, blank=True)
    # What happens once the due time passes: [{after_s, action, team?, every_s?}] in
    # order; `next_step` is the first not yet taken, `next_step_at` when it is due.
    overdue_steps = models.JSONField(default=list, blank=True)
    next_step = models.PositiveIntegerField(default=0)
    next_step_at = models.DateTimeField(null=True, blank=True)
    is_test = models.BooleanField(default=False)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    forbid_self_approval = models.BooleanField(default=False)
    decision = models.CharField(max_length=10, choices=Decision.choices, blank=True,
                                default="")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="decided_tasks")
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True, default="")
    search_text = models.TextField(blank=True, default="")  # title + context, lowercased
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_at", "created_at"]
        indexes = [
            models.Index(fields=["status", "due_at", "created_at"], name="task_open_due"),
            models.Index(fields=["next_step_at"], name="task_next_step",
                         condition=Q(status="open")),
            models.Index(fields=["follow_up_at"], name="task_follow_up",
                         condition=Q(status="open")),
            models.Index(fields=["decided_by", "-decided_at"], name="task_decided_by"),
            models.Index(fields=["workflow", "status"], name="task_workflow"),
        ]

    def __str__(self) -> str:
        return self.title


class Vote(models.Model):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    comment = models.TextField(blank=True, default="")
    form = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [models.UniqueConstraint(fields=["task", "user"], name="one_vote")]

    def __str__(self) -> str:
        return f"{self.decision} on {self.task_id}"


class TaskEventKind(models.TextChoices):
    CREATED = "created"
    CLAIMED = "claimed"
    RELEASED = "released"
    REASSIGNED = "reassigned"
    REMINDED = "reminded"
    ESCALATED = "escalated"
    VOTED = "voted"
    DECIDED = "decided"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class TaskEvent(models.Model):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="history")
    kind = models.CharField(max_length=12, choices=TaskEventKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+")
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} of {self.task_id}"


class Notification(models.Model):
    """A notification to send (an outbox row, written with the change it announces):
    the sweep sends it, off the request path, and it survives a broker outage."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20)  # assigned, reminder, escalated, decided
    recipients = models.JSONField(default=list)  # user ids
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    emails_sent = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["created_at"], name="notification_unsent",
                                condition=Q(sent_at__isnull=True))]

    def __str__(self) -> str:
        return f"{self.kind} of {self.task_id}"


class NotificationSettings(models.Model):
    """Per user: whether task e-mails are sent (on by default)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                primary_key=True, related_name="notification_settings")
    email_enabled = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"e-mails {'on' if self.email_enabled else 'off'} for {self.user_id}"
