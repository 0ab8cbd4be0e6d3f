"""Notifications of human tasks, sent by the sweep from outbox rows (`Notification`,
written in the transaction of the change they announce): an e-mail through Django's e-mail framework (console or
file backend in development, SMTP from the environment in production) with a link to the
task, to each recipient who has not turned e-mails off; and, per team, an optional
outgoing webhook with a Slack-compatible JSON message, sent through the same
SSRF-guarded client as the HTTP node. Best effort: a failure is logged, never raised."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from apps.approvals.models import Notification, NotificationSettings, Task
from apps.privacy.selectors import notification_masker

logger = logging.getLogger("weft.approvals.notifications")

SUBJECTS = {
    "assigned": "New task: {title}",
    "reminder": "Reminder: {title}",
    "escalated": "Escalated to your team: {title}",
    "decided": "Decided automatically: {title}",
}


def task_url(task: Task) -> str:
    return f"{settings.WEFT_PUBLIC_URL.rstrip('/')}/inbox/{task.pk}/"


def notifications_send(*, batch: int = 200) -> int:
    """Send the notifications not yet sent (oldest first); each row is taken once, under
    a lock that other sweeps skip. Returns the number of e-mails sent."""
    sent = 0
    while True:
        with transaction.atomic():
            rows = list(Notification.objects.select_for_update(skip_locked=True)
                        .filter(sent_at__isnull=True).order_by("created_at")[:batch])
            for row in rows:
                recipients = list(get_user_model().objects.filter(pk__in=row.recipients,
                                                                  is_active=True))
                row.emails_sent = task_notify(task_id=row.task_id, kind=row.kind,
                                              recipients=recipients)
                row.sent_at = timezone.now()
                row.save(update_fields=["emails_sent", "sent_at"])
                sent += row.emails_sent
        if len(rows) < batch:
            return sent


def task_notify(*, task_id, kind: str, recipients: list[Any]) -> int:
    """Send the notifications of one task event; returns how many e-mails went out."""
    task = Task.objects.filter(pk=task_id).select_related("workflow").first()
    if task is None or task.is_test:
        return 0
    masker = notification_masker(task=task)  # personal data never leaves in a message
    subject = SUBJECTS.get(kind, "{title}").format(title=masker.text(task.title))[:200]
    url = task_url(task)
    due = f"\nDue: {task.due_at:%Y-%m-%d %H:%M} UTC" if task.due_at else ""
    body = (f"{subject}\n\nWorkflow: {task.workflow.name}{due}\n\n"
            f"{masker.text(task.instructions)}\n\nOpen the task: {url}\n")
    muted = set(NotificationSettings.objects.filter(
        user__in=recipients, email_enabled=False).values_list("user_id", flat=True))
    sent = users_mail(users=[u for u in recipients if u.pk not in muted], subject=subject,
                      body=body, about=f"task {task.pk}")
    for team in task.assignee_teams.exclude(webhook_url=""):
        team_webhook_post(team.webhook_url, {"text": f"{subject} <{url}|Open the task>"})
    return sent


def users_mail(*, users, subject: str, body: str, about: str) -> int:
    """E-mail each user who has an address; a mail server down is logged, never raised
    (it must not fail what the mail is about). Returns how many went out."""
    sent = 0
    for user in users:
        if not user.email:
            continue
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
            sent += 1
        except Exception:  # noqa: BLE001 - best effort
            logger.warning("could not e-mail %s about %s", user.pk, about, exc_info=True)
    return sent


def team_webhook_post(url: str, message: dict[str, Any]) -> None:
    from apps.nodes.types.http import http_client

    try:
        with http_client(timeout_s=5, follow_redirects=False) as client:
            response = client.post(url, json=message)
            if response.status_code >= 400:
                logger.warning("team webhook %s answered %s", url, response.status_code)
    except Exception:  # noqa: BLE001 - best effort, as above
        logger.warning("could not post to team webhook %s", url, exc_info=True)
