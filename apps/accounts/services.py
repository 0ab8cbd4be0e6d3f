"""Everything that writes accounts, roles and tokens."""

from __future__ import annotations

import secrets

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.accounts.models import ApiToken, hash_token
from apps.accounts.roles import ADMIN, ROLES
from apps.audit.services import audit_record
from apps.core.errors import Conflict, Unprocessable

User = get_user_model()


def token_create(*, user, name: str, expires_at=None) -> tuple[ApiToken, str]:
    """Create a token; returns it and the raw secret, which is never shown again.
    `expires_at`: when it stops working (None: never); it must lie in the future."""
    if expires_at is not None and expires_at <= timezone.now():
        raise Unprocessable("The expiry must lie in the future.", code="invalid",
                            errors={"expires_at": ["Give a moment in the future, or none."]})
    raw = "weft_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, key_hash=hash_token(raw),
                                    prefix=raw[:12], expires_at=expires_at)
    audit_record(action="token.create", actor=user, target=token,
                 data={"name": name, "expires_at": expires_at.isoformat() if expires_at
                       else None})
    return token, raw


def token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(action="token.revoke", target=token, data={"owner": token.user.username})
    return token


# --- The admin rules --------------------------------------------------------------------
# Every change of a user's roles or active flag goes through the functions below, so
# the API, the console and commands all get the same rules:
#   - nobody deactivates themselves (400, field `is_active`);
#   - nobody drops their own admin role (400, field `roles`);
#   - the last active admin stays an active admin (409, `last_admin`).
# Two admins demoting each other at the same moment must not leave none: each change
# locks every active admin's row (SELECT ... FOR UPDATE, in id order) before counting.

def _admin_ids():
    return User.objects.filter(Q(groups__name=ADMIN) | Q(is_superuser=True),
                               is_active=True).values("pk")


def _admin_rows_lock() -> None:
    """Lock the rows of the active admins until the transaction ends."""
    list(User.objects.select_for_update().filter(pk__in=_admin_ids())
         .order_by("pk").values_list("pk", flat=True))


def _admin_guard(*, user, actor, field: str, removes_admin: bool, deactivates: bool) -> None:
    """Refuse a change that would lock `actor` out or leave no active admin.
    Call inside the transaction that makes the change."""
    if deactivates and actor is not None and actor.pk == user.pk:
        raise Unprocessable("You cannot deactivate yourself.", code="cannot_deactivate_self",
                            errors={"is_active": ["You cannot deactivate yourself."]})
    if not removes_admin and not deactivates:
        return
    _admin_rows_lock()
    # A fresh statement after the lock: it sees every admin change committed before it.
    admins = set(_admin_ids().values_list("pk", flat=True))
    if user.pk not in admins:
        return  # not an active admin (any more): no admin is lost
    if removes_admin and actor is not None and actor.pk == user.pk:
        raise Unprocessable("You cannot remove your own admin role.",
                            code="cannot_drop_own_admin",
                            errors={"roles": ["You cannot remove your own admin role."]})
    if not admins - {user.pk}:
        message = (f"{user.get_username()} is the last active admin; make another user an "
                   "admin first.")
        raise Conflict(message, code="last_admin", errors={field: [message]})


@transaction.atomic
def user_set_roles(*, user, roles: list[str] | set[str], actor=None) -> None:
    """Give `user` exactly these roles. `actor` (who asks) is held to the admin rules."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")
    _admin_guard(user=user, actor=actor, field="roles",
                 removes_admin=ADMIN not in roles and not user.is_superuser,
                 deactivates=False)
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


@transaction.atomic
def user_deactivate(*, user, actor=None) -> None:
    """Deactivate `user` and revoke their tokens (refused for yourself and the last admin)."""
    _admin_guard(user=user, actor=actor, field="is_active", removes_admin=False,
                 deactivates=True)
    user.is_active = False
    user.save(update_fields=["is_active"])
    ApiToken.objects.filter(user=user, revoked_at=None).update(revoked_at=timezone.now())
    audit_record(action="user.deactivate", target=user)


def user_reactivate(*, user, request=None) -> None:
    if user.is_active:
        return
    user.is_active = True
    user.save(update_fields=["is_active"])
    audit_record(action="user.reactivate", target=user, request=request)


@transaction.atomic
def user_update(*, user, actor, roles: list[str] | None = None, is_active: bool | None = None,
                request=None) -> None:
    """Change roles and/or the active flag in one transaction, under the admin rules:
    a refused part changes nothing."""
    if roles is not None:
        user_set_roles(user=user, roles=roles, actor=actor)
    if is_active is False and user.is_active:
        user_deactivate(user=user, actor=actor)
    elif is_active is True:
        user_reactivate(user=user, request=request)


LOCKOUT_KINDS = ("username", "ip_address")


@transaction.atomic
def signin_lockout_clear(*, kind: str, value: str) -> int:
    """Forget the sign-in failures of one account or one client address (django-axes'
    attempts), so it may sign in again at once. Returns how many attempt rows went."""
    if kind not in LOCKOUT_KINDS:
        raise ValueError(f"kind must be one of {LOCKOUT_KINDS}")
    removed = (axes_reset(username=value) if kind == "username" else axes_reset(ip=value))
    audit_record(action="auth.lockout_clear", data={"kind": kind, "value": value,
                                                    "attempts": removed})
    return removed


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
