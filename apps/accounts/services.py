"""Everything that writes accounts, roles and tokens."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import ApiToken, hash_token
from apps.accounts.roles import ADMIN, ROLES
from apps.audit.services import audit_record

User = get_user_model()


def token_create(*, user, name: str) -> tuple[ApiToken, str]:
    """Create a token; returns it and the raw secret, which is never shown again."""
    raw = "weft_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, key_hash=hash_token(raw),
                                    prefix=raw[:12])
    audit_record(action="token.create", actor=user, target=token, data={"name": name})
    return token, raw


def token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(action="token.revoke", target=token, data={"owner": token.user.username})
    return token


@transaction.atomic
def user_set_roles(*, user, roles: list[str] | set[str]) -> None:
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")
    before = sorted(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
    keep = user.groups.exclude(name__in=ROLES)
    # get_or_create: the groups come from a migration, but a flushed database
    # (transactional tests) or a hand-deleted group must not drop roles silently.
    groups = [Group.objects.get_or_create(name=role)[0] for role in sorted(set(roles))]
    user.groups.set([*keep, *groups])
    user.__dict__.pop("_weft_roles", None)
    if before != sorted(set(roles)):
        audit_record(action="user.roles_change", target=user,
                     data={"from": before, "to": sorted(set(roles))})


@transaction.atomic
def user_create(*, username: str, email: str = "", password: str | None = None,
                roles: list[str] | tuple[str, ...] = ()) -> User:
    user = User(username=username, email=email)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    audit_record(action="user.create", target=user, data={"email": email, "roles": sorted(roles)})
    user_set_roles(user=user, roles=roles)
    return user


def user_deactivate(*, user) -> None:
    user.is_active = False
    user.save(update_fields=["is_active"])
    ApiToken.objects.filter(user=user, revoked_at=None).update(revoked_at=timezone.now())
    audit_record(action="user.deactivate", target=user)


def first_admin_ensure() -> tuple[User, str | None]:
    """Create the first admin when no admin exists. Returns the admin and the
    generated password (None when it came from WEFT_ADMIN_PASSWORD or existed)."""
    existing = User.objects.filter(groups__name=ADMIN, is_active=True).order_by("id").first()
    if existing is not None:
        return existing, None
    email = settings.WEFT_FIRST_ADMIN_EMAIL
    password = settings.WEFT_FIRST_ADMIN_PASSWORD
    generated = None
    if not password:
        generated = password = secrets.token_urlsafe(12)
    username = email.split("@")[0] or "admin"
    user = User.objects.filter(username=username).first()
    if user is None:
        user = user_create(username=username, email=email, password=password, roles=[ADMIN])
    else:
        user.set_password(password)
        user.is_active = True
        user.save()
        user_set_roles(user=user, roles=[ADMIN])
    return user, generated
