"""What the engine hands every node in `NodeContext.services`, built in one place:
CEL expressions, stored credentials, Triton connections and the inference audit."""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def node_services() -> dict[str, Any]:
    from apps.credentials.services import credential_resolve
    from apps.expressions.services import expression_evaluate
    from apps.inference.services import inference_node_record, triton_resolve

    return {
        "expressions": expression_evaluate,
        "credentials": credential_resolve,
        "triton": triton_resolve,
        "inference_record": inference_node_record,
    }
