"""Notification node types: an e-mail through Django's e-mail framework, and a message
to a chat webhook (Slack-compatible JSON) through the SSRF-guarded HTTP client. Both
follow the engine's failure policy: failures that may pass (a mail server or a webhook
that is down, a 429) are retried as due-time rows, then the `error` port."""

from __future__ import annotations

import re
import smtplib
from typing import Any

import httpx
from django.conf import settings
from pydantic import Field

from apps.expressions.fields import TemplateField
from apps.expressions.services import expression_data
from apps.nodes.base import (
    ERROR_PORT,
    ExecutionPolicy,
    NodeConfig,
    NodeContext,
    NodeError,
    NodeType,
    Outputs,
    Port,
    policy_field,
)
from apps.nodes.registry import registry
from apps.nodes.ssrf import SSRFBlocked
from apps.nodes.types.http import http_client, render_field, retry_after_s

_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def _render(value: Any, context: NodeContext, field: str) -> Any:
    return render_field(value, expression_data(context), field)


class EmailConfig(NodeConfig):
    to: list[str] = TemplateField(min_length=1, max_length=50, title="To",
                                  description="Addresses; each may use {{ expression }}.")
    subject: str = TemplateField(min_length=1, max_length=300, title="Subject",
                                 description="May use {{ expression }}.")
    body: str = TemplateField("", max_length=20000, title="Text",
                              description="The message; may use {{ expression }}.")
    policy: ExecutionPolicy = policy_field(retries=2)


@registry.register
class EmailNode(NodeType):
    type = "notify.email"
    category = "integration"
    label = "Send e-mail"
    description = "Sends a plain-text e-mail (the server's mail settings)."
    icon = "mail"
    queue = "io"
    inputs = (Port("in", required=False),)
    outputs = (Port("out"), Port(ERROR_PORT, label="On error", required=False))
    Config = EmailConfig

    def execute(self, context: NodeContext, config: EmailConfig) -> Outputs:
        recipients = [str(a).strip() for a in _render(config.to, context, "to") if a]
        wrong = [a for a in recipients if not _EMAIL.match(a)]
        if wrong or not recipients:
            raise NodeError("invalid_address", f"Not an e-mail address: {wrong[:3] or '(none)'}",
                            details={"field": "to"})
        subject = str(_render(config.subject, context, "subject")).replace("\n", " ")[:300]
        body = str(_render(config.body, context, "body") or "")
        from django.core.mail import send_mail

        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
        except (smtplib.SMTPException, OSError) as exc:
            raise NodeError("mail_unavailable", f"The mail server refused or was "
                            f"unreachable: {exc}", retryable=True) from None
        return Outputs({"out": {"sent": len(recipients), "to": recipients,
                                "subject": subject}})


class ChatWebhookConfig(NodeConfig):
    url: str = TemplateField(min_length=1, max_length=2000, title="Webhook URL",
                             description="A Slack-compatible incoming webhook (https://...).")
    text: str = TemplateField(min_length=1, max_length=20000, title="Message",
                              description="May use {{ expression }}.")
    timeout_s: float = Field(10.0, gt=0, le=60, title="Timeout (s)",
                             description="How long the request may take.")
    policy: ExecutionPolicy = policy_field(retries=2)


@registry.register
class ChatWebhookNode(NodeType):
    type = "notify.webhook"
    category = "integration"
    label = "Post to chat"
    description = "Posts a message to a Slack-compatible webhook."
    icon = "message-square"
    queue = "io"
    inputs = (Port("in", required=False),)
    outputs = (Port("out"), Port(ERROR_PORT, label="On error", required=False))
    Config = ChatWebhookConfig

    def execute(self, context: NodeContext, config: ChatWebhookConfig) -> Outputs:
        url = str(_render(config.url, context, "url"))
        if not url.startswith(("https://", "http://")):
            raise NodeError("invalid_url", "The webhook URL must start with https://.",
                            details={"field": "url"})
        text = str(_render(config.text, context, "text"))
        try:
            with http_client(timeout_s=config.timeout_s, follow_redirects=False) as client:
                response = client.post(url, json={"text": text})
        except SSRFBlocked as exc:
            raise NodeError("ssrf_blocked", str(exc)) from None
        except (httpx.TimeoutException, httpx.NetworkError) as exc:
            raise NodeError("connection", f"{exc.__class__.__name__}: {exc}",
                            retryable=True) from None
        if response.status_code >= 400:
            raise NodeError("http_status", f"The webhook answered {response.status_code}.",
                            retryable=response.status_code >= 500
                            or response.status_code == 429,
                            retry_after_s=retry_after_s(response.headers.get("retry-after")),
                            details={"status": response.status_code})
        return Outputs({"out": {"status": response.status_code}})
