from __future__ import annotations

from django.db.models import QuerySet

from apps.credentials.models import Credential


def credential_list(*, kind: str = "", search: str = "") -> QuerySet[Credential]:
    qs = Credential.objects.defer("secret_encrypted").select_related("created_by")
    if kind:
        qs = qs.filter(kind=kind)
    if search:
        qs = qs.filter(name__icontains=search)
    return qs.order_by("name")
