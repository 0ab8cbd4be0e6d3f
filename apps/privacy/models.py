"""Personal data per workflow (which fields hold it, which detectors are on) and who
may see it (the `personal-data` permission, granted to a user or to a team)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class PersonalDataPolicy(models.Model):
    workflow = models.OneToOneField("workflows.Workflow", on_delete=models.CASCADE,
                                    primary_key=True, related_name="personal_data_policy")
    # JSON paths into the run's input and its nodes' outputs (apps.audit.personal).
    paths = models.JSONField(default=list, blank=True)
    detectors = models.JSONField(default=list, blank=True)  # ["email", "phone", "card"]
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"personal data of {self.workflow_id}"


class PersonalDataGrant(models.Model):
    """The `personal-data` permission of one user or of every member of one team."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                null=True, blank=True, related_name="personal_data_grant")
    team = models.OneToOneField("approvals.Team", on_delete=models.CASCADE, null=True,
                                blank=True, related_name="personal_data_grant")
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(
            condition=Q(user__isnull=False, team__isnull=True)
            | Q(user__isnull=True, team__isnull=False), name="personal_grant_user_or_team")]

    def __str__(self) -> str:
        return f"personal-data grant to {self.user_id or self.team_id}"
