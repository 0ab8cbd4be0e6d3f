"""One permission class per role; every API view names the one it needs."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from apps.accounts.roles import ADMIN, EDITOR, REVIEWER, VIEWER, has_role


class _RolePermission(BasePermission):
    role: str = ""
    message = "This needs the role '{role}'."

    def has_permission(self, request, view) -> bool:
        allowed = has_role(request.user, self.role)
        if not allowed:
            self.message = f"This needs the role '{self.role}'."
        return allowed


class IsViewer(_RolePermission):
    role = VIEWER


class IsEditor(_RolePermission):
    role = EDITOR


class IsReviewer(_RolePermission):
    role = REVIEWER


class IsAdmin(_RolePermission):
    role = ADMIN


class ReadViewerWriteEditor(BasePermission):
    """Reading needs `viewer`; anything that changes state needs `editor`."""

    def has_permission(self, request, view) -> bool:
        role = VIEWER if request.method in SAFE_METHODS else EDITOR
        self.message = f"This needs the role '{role}'."
        return has_role(request.user, role)
