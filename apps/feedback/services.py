"""Copying a reviewer's decision on a model's answer into its own row (`Feedback`).

The approval node names the inference node it reviews (`reviews_node`) and optionally
the form field holding the corrected label (`label_field`). When its task is decided by
a person, the model's answer is read from that node's run in the same run (label,
confidence, model and version), and the row is written in the deciding transaction."""

from __future__ import annotations

from typing import Any

from apps.feedback.models import Feedback
from apps.privacy.selectors import run_masker_get
from apps.runs import refs
from apps.runs.models import NodeRun, NodeStatus, Run

APPROVED = "approved"


def _node(graph: dict[str, Any], node_id: str) -> dict[str, Any] | None:
    return next((n for n in graph.get("nodes", []) if n.get("id") == node_id), None)


def _text(value: Any, limit: int = 200) -> str:
    return "" if value is None else str(value)[:limit]


def feedback_record(*, task, corrected: dict[str, Any] | None = None) -> Feedback | None:
    """The feedback row of a task decided by a person, when its node reviews a model's
    answer (None otherwise, or when that node did not answer in this run)."""
    run = Run.objects.select_related("version", "workflow").get(pk=task.run_id)
    graph = run.version.graph or {}
    node = _node(graph, task.node_id) or {}
    config = node.get("config") or {}
    reviews = config.get("reviews_node") or ""
    if not reviews:
        return None
    model_config = (_node(graph, reviews) or {}).get("config") or {}
    answered = NodeRun.objects.filter(run_id=run.pk, node_id=reviews,
                                      status=NodeStatus.SUCCEEDED).order_by("-attempt").first()
    if answered is None:
        return None
    out = refs.unescape(answered.outputs or {}).get("out")
    out = out if isinstance(out, dict) else {}
    model_label = _text(out.get("label")) if isinstance(out.get("label"), str) else ""
    confidence = out.get("confidence")
    form = refs.unescape(task.form_values or {})
    label_field = config.get("label_field") or ""
    if label_field:
        reviewer_label = _text(form.get(label_field))
        kept = (reviewer_label == model_label) if model_label else None
    else:
        reviewer_label = model_label if task.decision == APPROVED else ""
        kept = (task.decision == APPROVED) if model_label else None
    inputs = refs.unescape(answered.inputs or {})
    row, _ = Feedback.objects.update_or_create(task_id=task.pk, defaults={
        "run_id": run.pk, "workflow_id": run.workflow_id, "workflow_name": run.workflow.name,
        "node_id": task.node_id, "model_node_id": reviews,
        "server": _text(model_config.get("server")),
        "model": _text(out.get("model") or model_config.get("model")),
        "model_version": _text(out.get("version") or model_config.get("version"), 50),
        "inputs": inputs.get("in", inputs) if isinstance(inputs, dict) else inputs,
        "output": out, "model_label": model_label,
        "confidence": float(confidence) if isinstance(confidence, int | float) else None,
        "decision": task.decision, "reviewer": task.decided_by.username if task.decided_by
        else "", "reviewer_label": reviewer_label, "kept": kept,
        "corrected": corrected or {}, "form": form, "comment": task.comment or "",
        "personal_values": sorted(run_masker_get(run=run).values),
        "predicted_at": answered.finished_at, "decided_at": task.decided_at,
    })
    return row
