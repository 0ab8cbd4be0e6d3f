"""Shadow models: the same inputs, sent to another model after the primary answered.

The node hands its evaluated inputs to `shadow_call_send`, which queues the call on the
inference queue and returns (a message to the broker; no waiting on the model). The
worker's `shadow_call_run` calls the shadow model and records the call with the role
`shadow` and the run and node of the primary: an error is recorded, never raised, and
the run never sees it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from apps.audit.personal import personal_scope
from apps.oversight.models import CallRole
from apps.oversight.recording import calls_record_from_result, model_calls_record
from apps.privacy.selectors import run_masker_of

logger = logging.getLogger("weft.oversight.shadow")

SHADOW_TASK = "oversight.shadow_call"
SHADOW_TIMEOUT_S = 30.0


def shadow_call_send(*, shadow: Mapping[str, Any], values: Mapping[str, Any], run_id: str,
                     node_id: str) -> None:
    from celery import current_app

    current_app.send_task(SHADOW_TASK, kwargs={
        "server": shadow["server"], "model": shadow["model"],
        "version": shadow.get("version") or "", "values": dict(values),
        "run_id": run_id, "node_id": node_id}, queue="inference")


def shadow_call_run(*, server: str, model: str, version: str, values: Mapping[str, Any],
                    run_id: str, node_id: str) -> str:
    """Call the shadow model and record it; returns "ok" or the error type."""
    import time

    from apps.inference.client import shared_client
    from apps.inference.services import triton_resolve

    started = time.perf_counter()
    try:
        connection = triton_resolve(server)
        if connection is None:
            raise LookupError(f"server {server!r} is not an active Triton server")
        client = shared_client(connection, timeout_s=SHADOW_TIMEOUT_S)
        result = client.infer(model, values, version=version)
    except Exception as exc:  # noqa: BLE001 - a shadow's failure is recorded, not raised
        error = getattr(exc, "code", "") or type(exc).__name__
        logger.info("shadow call to %s/%s failed: %s", server, model, error)
        size = max((len(v) for v in values.values() if isinstance(v, list)), default=1)
        model_calls_record(server=server, model=model, version=version,
                           latency_ms=(time.perf_counter() - started) * 1000,
                           error_type=str(error)[:64], batch_size=size, run_id=run_id,
                           node_id=node_id, role=CallRole.SHADOW)
        return str(error)
    # Out of band: the run's masker is not in flight here (see recording._label).
    with personal_scope(run_masker_of(run_id=run_id) if run_id else None):
        calls_record_from_result(server=server, result=result, run_id=run_id,
                                 node_id=node_id, role=CallRole.SHADOW)
    return "ok"
