"""What the engine hands every node in `NodeContext.services`, built in one place so
other parts plug in here: "expressions" (CEL), later "credentials" and "triton"."""

from __future__ import annotations

from functools import lru_cache
from importlib import import_module
from typing import Any


def _optional(module: str, attribute: str) -> Any:
    try:
        return getattr(import_module(module), attribute)
    except (ImportError, AttributeError):
        return None


@lru_cache(maxsize=1)
def node_services() -> dict[str, Any]:
    from apps.expressions.services import expression_evaluate

    services: dict[str, Any] = {"expressions": expression_evaluate}
    for name, (module, attribute) in {
        "credentials": ("apps.credentials.services", "credential_resolve"),
        "triton": ("apps.inference.services", "triton_client"),
    }.items():
        found = _optional(module, attribute)
        if found is not None:
            services[name] = found
    return services
