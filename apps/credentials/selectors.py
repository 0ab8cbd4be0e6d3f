from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet

from apps.credentials.models import Credential


def credential_list(*, kind: str = "", search: str = "") -> QuerySet[Credential]:
    qs = Credential.objects.defer("secret_encrypted").select_related("created_by")
    if kind:
        qs = qs.filter(kind=kind)
    if search:
        qs = qs.filter(name__icontains=search)
    return qs.order_by("name")


def credential_get(*, credential_id: Any) -> Credential | None:
    """A credential's row without its secret (for checks such as its allowed hosts),
    or None when the id is not a credential's."""
    try:
        key = uuid.UUID(str(credential_id))
    except ValueError:
        return None
    return Credential.objects.defer("secret_encrypted").filter(pk=key).first()


def credential_users(*, credential_id: Any) -> list[dict[str, Any]]:
    """The workflows (not deleted) whose draft or a published version uses the
    credential in a node's settings: [{"id", "name"}], by name."""
    from django.db.models import Exists, OuterRef, Q

    from apps.workflows.models import Workflow, WorkflowVersion

    uses = {"nodes": [{"config": {"credential": str(credential_id)}}]}
    in_version = WorkflowVersion.objects.filter(workflow=OuterRef("pk"), graph__contains=uses)
    return list(Workflow.objects.filter(deleted_at__isnull=True).filter(
        Q(graph__contains=uses) | Exists(in_version)).order_by("name").values("id", "name"))
