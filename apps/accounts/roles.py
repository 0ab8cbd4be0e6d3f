"""Roles are Django groups created by a migration. A user may hold several.

viewer   reads workflows, versions and runs
editor   builds, publishes and runs workflows
reviewer decides approval tasks in the inbox
admin    everything, plus the console (audit, users, credentials, kill switch)
"""

from __future__ import annotations

VIEWER = "viewer"
EDITOR = "editor"
REVIEWER = "reviewer"
ADMIN = "admin"
ROLES = (VIEWER, EDITOR, REVIEWER, ADMIN)

# A role also grants the roles listed here.
IMPLIES = {
    ADMIN: {VIEWER, EDITOR, REVIEWER},
    EDITOR: {VIEWER},
    REVIEWER: {VIEWER},
    VIEWER: set(),
}


def roles_of(user) -> set[str]:
    """The roles a user holds, directly or by implication (cached on the user object)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return set()
    cached = getattr(user, "_weft_roles", None)
    if cached is not None:
        return cached
    held = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
    if user.is_superuser:
        held.add(ADMIN)
    effective = set(held)
    for role in held:
        effective |= IMPLIES[role]
    user._weft_roles = effective
    return effective


def has_role(user, role: str) -> bool:
    return role in roles_of(user)
