"""Sign-in, sign-out and failed sign-in, from Django's auth signals."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from apps.audit.actors import Actor
from apps.audit.services import audit_record
from apps.core.net import client_ip


def _client(request) -> dict[str, str]:
    if request is None:
        return {}
    meta = getattr(request, "META", {})
    return {"ip": client_ip(request),
            "user_agent": meta.get("HTTP_USER_AGENT", "")[:200]}


@receiver(user_logged_in, dispatch_uid="audit_login")
def audit_login(sender, request, user, **kwargs):
    audit_record(action="auth.login", actor=user, target=user, request=request,
                 data=_client(request))


@receiver(user_logged_out, dispatch_uid="audit_logout")
def audit_logout(sender, request, user, **kwargs):
    if user is None:  # signing out when not signed in
        return
    audit_record(action="auth.logout", actor=user, target=user, request=request,
                 data=_client(request))


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def audit_login_failed(sender, credentials, request=None, **kwargs):
    attempted = str(credentials.get("username") or credentials.get("email") or "")[:150]
    User = get_user_model()
    lookup = {"email__iexact": attempted} if "@" in attempted else {"username": attempted}
    known = User.objects.filter(**lookup).order_by("id").first() if attempted else None
    audit_record(action="auth.login_failed", actor=Actor.anonymous(),
                 target=known, request=request,
                 data={"username": attempted, "known_user": known is not None,
                       **_client(request)})
