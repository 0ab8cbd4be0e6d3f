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
