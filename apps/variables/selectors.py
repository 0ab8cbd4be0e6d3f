"""Reading variables: the list for people, and the snapshot a run starts with."""

from __future__ import annotations

import threading
import time

from django.db.models import QuerySet

from apps.variables.models import Variable

# A run start reads the variables from this process's copy when it is younger than
# this; a change made in this process clears it at once. A run records what it saw
# (Run.vars), so a run started in the short window still explains itself.
SNAPSHOT_TTL_S = 2.0
_cache: dict[str, object] = {"at": 0.0, "values": None}
_lock = threading.Lock()


def variable_list(*, search: str = "") -> QuerySet[Variable]:
    qs = Variable.objects.select_related("updated_by").order_by("name")
    if search:
        qs = qs.filter(name__icontains=search)
    return qs


def variable_get(*, name: str) -> Variable | None:
    return Variable.objects.filter(name=name).first()


def variables_snapshot() -> dict[str, str]:
    """{name: value} of every variable, as a run starting now sees them."""
    now = time.monotonic()
    values = _cache["values"]
    if values is not None and now - float(_cache["at"]) < SNAPSHOT_TTL_S:
        return dict(values)  # type: ignore[arg-type]
    fresh = dict(Variable.objects.values_list("name", "value"))
    with _lock:
        _cache["at"], _cache["values"] = now, fresh
    return dict(fresh)


def variables_forget() -> None:
    with _lock:
        _cache["values"] = None
