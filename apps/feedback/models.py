"""Reviewers' decisions on models' answers, copied out of the runs (DECISIONS.md "Scale
and records": retention may delete the runs; this labelled data stays)."""

from __future__ import annotations

from django.db import models


class Feedback(models.Model):
    """One human decision on one model answer: what the model saw and said, what the
    reviewer decided and corrected, and when."""

    task_id = models.UUIDField(unique=True)  # no foreign keys: runs and tasks may go
    run_id = models.UUIDField()
    workflow_id = models.UUIDField()
    workflow_name = models.CharField(max_length=200, blank=True, default="")
    node_id = models.CharField(max_length=64)  # the approval node
    model_node_id = models.CharField(max_length=64)  # the inference node it reviewed
    server = models.CharField(max_length=200, blank=True, default="")
    model = models.CharField(max_length=200)
    model_version = models.CharField(max_length=50, blank=True, default="")
    inputs = models.JSONField(null=True, blank=True)  # what reached the inference node
    output = models.JSONField(null=True, blank=True)  # the model's answer
    model_label = models.CharField(max_length=200, blank=True, default="")
    confidence = models.FloatField(null=True, blank=True)
    decision = models.CharField(max_length=10)  # approved / rejected
    reviewer = models.CharField(max_length=150, blank=True, default="")
    reviewer_label = models.CharField(max_length=200, blank=True, default="")
    kept = models.BooleanField(null=True)  # null: no label to compare
    corrected = models.JSONField(default=dict, blank=True)  # form fields the reviewer changed
    form = models.JSONField(default=dict, blank=True)  # the form as decided
    comment = models.TextField(blank=True, default="")
    # Values at the workflow's personal-data paths when copied: masked in exports.
    personal_values = models.JSONField(default=list, blank=True)
    predicted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["model", "model_version", "decided_at"],
                                name="feedback_model_time")]

    def __str__(self) -> str:
        return f"{self.model}:{self.model_version} {self.decision} ({self.task_id})"
