"""What the engine hands every node in `NodeContext.services`, built in one place:
CEL expressions, stored credentials, Triton connections, the inference audit and
the model-oversight records (calls, shadow calls)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def node_services() -> dict[str, Any]:
    from apps.credentials.services import credential_resolve
    from apps.expressions.services import expression_evaluate
    from apps.inference.services import inference_node_record, triton_resolve
    from apps.oversight.recording import model_calls_record
    from apps.oversight.shadow import shadow_call_send

    return {
        "expressions": expression_evaluate,
        "credentials": credential_resolve,
        "triton": triton_resolve,
        "inference_record": inference_node_record,
        "model_calls": model_calls_record,
        "model_shadow": shadow_call_send,
    }
