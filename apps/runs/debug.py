"""Debug a past run in the editor: a test run of the current draft with the past run's
trigger input, and, when asked, each node's output in that run pinned in the draft
first (so the test run gives them instead of calling the HTTP service or the model again).

Any run of a workflow may be debugged (a production run, a test run, a failed or a
finished one); a run of a deleted workflow may not (there is no draft to run). A node
whose output cannot be pinned (the draft no longer has it, its ports changed, it did not
succeed in the run) is listed with the reason and left as it is; triggers are never
pinned (the test run gives them the past input).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from apps.core.errors import Conflict, Unprocessable
from apps.nodes.registry import registry
from apps.runs import refs
from apps.runs.models import NodeStatus, Run
from apps.runs.test_runs import draft_run_start
from apps.workflows.pins import pin_set


@dataclass
class DebugStart:
    run: Run  # the test run of the draft it started
    pinned: list[str] = field(default_factory=list)
    not_pinned: dict[str, str] = field(default_factory=dict)  # node id -> why


def _trigger_ids(graph: dict) -> set[str]:
    found = set()
    for node in graph.get("nodes", []):
        node_type = registry.get(node.get("type"), node.get("version", 1))
        if node_type is not None and node_type.is_trigger:
            found.add(node.get("id"))
    return found


def run_debug_refusal(*, run: Run) -> str | None:
    """Why this run cannot be debugged in the editor, or None."""
    if run.workflow.deleted_at is not None:
        return ("Its workflow was deleted: there is no draft to debug it in. The run "
                "stays readable until retention deletes it.")
    return None


def _pin_all(*, run: Run, user) -> tuple[list[str], dict[str, str]]:
    draft = registry.upgrade_graph(run.workflow.graph)
    in_draft = {n.get("id") for n in draft.get("nodes", [])}
    triggers = _trigger_ids(draft)
    succeeded = set(run.node_runs.filter(status=NodeStatus.SUCCEEDED)
                    .values_list("node_id", flat=True))
    ran = set(run.node_runs.values_list("node_id", flat=True))
    pinned, not_pinned = [], {}
    for node_id in sorted(ran - triggers):
        if node_id not in in_draft:
            not_pinned[node_id] = "The draft no longer has this node."
        elif node_id not in succeeded:
            not_pinned[node_id] = "It did not succeed in this run."
        else:
            try:
                pin_set(workflow=run.workflow, user=user, node_id=node_id, run_id=run.pk)
            except Unprocessable as exc:
                not_pinned[node_id] = str(exc.detail)
            else:
                pinned.append(node_id)
    return pinned, not_pinned


def run_debug_start(*, run: Run, user, pin_outputs: bool = False) -> DebugStart:
    """Start a test run of the run's workflow's draft with the run's trigger input;
    with `pin_outputs`, pin each node's output in the run first. Refuses (409) a run
    of a deleted workflow; a draft the run would fail on gets draft_run_start's 400."""
    refusal = run_debug_refusal(run=run)
    if refusal:
        raise Conflict(f"This run cannot be debugged in the editor. {refusal}",
                       code="workflow_deleted")
    with transaction.atomic():  # a refused draft leaves the pins as they were
        pinned, not_pinned = _pin_all(run=run, user=user) if pin_outputs else ([], {})
        started = draft_run_start(workflow=run.workflow, user=user,
                                  input=refs.unescape(run.input or {}))
    return DebugStart(run=started, pinned=pinned, not_pinned=not_pinned)
