"""Everything that writes workflows and their versions."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from apps.audit.services import audit_record
from apps.core.errors import Conflict, Unprocessable
from apps.nodes.registry import registry
from apps.runs.typed_checks import graph_typed_problems
from apps.workflows.graph import ERROR, Problem, empty_graph, errors_only, validate_graph
from apps.workflows.models import Workflow, WorkflowVersion
from apps.workflows.names import name_key, name_problem
from apps.workflows.selectors import workflow_name_free

EXPORT_FORMAT = 1

# Problems that make a document unusable even as a draft. A draft may be
# unfinished (no trigger yet, a field left empty) but never malformed.
STRUCTURAL_CODES = {
    "invalid_document", "too_large", "invalid_node", "invalid_edge", "invalid_note",
    "unknown_field", "duplicate_node_id", "duplicate_edge_id",
}


def graph_validate(*, graph: Any) -> list[Problem]:
    return validate_graph(graph, registry)


def graph_environment_problems(*, graph: dict[str, Any]) -> list[Problem]:
    """What each node type's `check_environment` says about its node (servers,
    models: may do I/O). Only for a graph that passed `validate_graph`."""
    problems = []
    for node in registry.upgrade_graph(graph).get("nodes", []):
        if node.get("disabled"):
            continue
        node_type = registry.get(node["type"], node.get("version", 1))
        if node_type is None:
            continue
        config = node_type.Config.model_validate(node.get("config", {}))
        for found in node_type.check_environment(config):
            name = node.get("name") if isinstance(node.get("name"), str) else ""
            problems.append(Problem(code=found.code, message=f"Node {(name.strip() or node['id'])!r}: "
                                    f"{found.message}", node_id=node["id"], field=found.field))
    return problems


def graph_runnable_problems(*, graph: Any, workflow: Workflow | None = None) -> list[Problem]:
    """The errors that keep a graph from running: what publish refuses and a test run
    of the draft refuses (the validator's errors and, with the workflow, the type errors
    its expressions meet on the draft's sample data; then the node types' environment
    checks, which may do I/O, only for a graph that passed those)."""
    problems = errors_only(graph_validate(graph=graph))
    if workflow is not None and not problems:
        problems = graph_typed_problems(workflow=workflow, graph=graph)
    return problems or graph_environment_problems(graph=graph)


def graph_check(*, workflow: Workflow, graph: Any) -> list[Problem]:
    """Everything the check endpoint reports: the validator's problems and, for a graph
    without structural errors, the type errors a run would meet on the sample data."""
    problems = graph_validate(graph=graph)
    if any(p.code in STRUCTURAL_CODES and p.severity == ERROR for p in problems):
        return problems
    return problems + graph_typed_problems(workflow=workflow, graph=graph)


def _problems_body(problems: list[Problem]) -> list[dict[str, Any]]:
    return [p.as_dict() for p in problems]


def _check_draft(graph: Any) -> None:
    structural = [p for p in graph_validate(graph=graph)
                  if p.code in STRUCTURAL_CODES and p.severity == ERROR]
    if structural:
        raise Unprocessable(structural[0].message, code="invalid_graph",
                            problems=_problems_body(structural))


def _name_checked(name: str, *, exclude=None) -> str:
    """The name's key; 400 for a name with nothing visible, 409 naming the workflow that
    has a name read alike (the unique index decides a race: see _name_taken)."""
    problem = name_problem(name)
    if problem:
        raise Unprocessable(problem, code="invalid", errors={"name": [problem]})
    key = name_key(name)
    other = Workflow.objects.filter(name_key=key, deleted_at__isnull=True).exclude(
        pk=exclude).values_list("name", flat=True).first()
    if other is not None:
        raise _name_taken(name, other)
    return key


def _name_taken(name: str, other: str | None = None) -> Conflict:
    detail = (f"A workflow named {other!r} exists; {name!r} reads the same." if other
              and other != name else f"A workflow named {name!r} exists.")
    return Conflict(detail, code="duplicate_name", errors={"name": [detail]})


def workflow_create(*, user, name: str, description: str = "",
                    graph: dict[str, Any] | None = None) -> Workflow:
    graph = empty_graph() if graph is None else graph
    _check_draft(graph)
    key = _name_checked(name)
    try:
        with transaction.atomic():
            workflow = Workflow.objects.create(name=name, name_key=key,
                                               description=description, owner=user,
                                               graph=graph, updated_by=user)
    except IntegrityError:
        raise _name_taken(name) from None
    audit_record(action="workflow.create", actor=user, target=workflow, data={"name": name})
    return workflow


def workflow_update(*, workflow: Workflow, user, revision: int | None = None,
                    graph: dict[str, Any] | None = None, name: str | None = None,
                    description: str | None = None,
                    webhook_legacy_signature: bool | None = None) -> Workflow:
    """Save changes to the draft (or its settings). A new graph needs the revision it was based
    on; when someone saved in between, nothing is written and 409 names the
    current revision and graph so the caller can reconcile."""
    changes: dict[str, Any] = {"updated_at": timezone.now(), "updated_by": user}
    if name is not None:
        changes["name"] = name
        changes["name_key"] = _name_checked(name, exclude=workflow.pk)
    if description is not None:
        changes["description"] = description
    if webhook_legacy_signature is not None:
        changes["webhook_legacy_signature"] = webhook_legacy_signature
    qs = Workflow.objects.filter(pk=workflow.pk, deleted_at__isnull=True)
    if graph is not None:
        if revision is None:
            raise Unprocessable("Saving a graph needs the 'revision' it was based on.",
                                code="required", errors={"revision": ["This field is required "
                                                                     "with 'graph'."]})
        _check_draft(graph)
        changes["graph"] = graph
        changes["revision"] = F("revision") + 1
        qs = qs.filter(revision=revision)
    try:
        with transaction.atomic():
            updated = qs.update(**changes)
    except IntegrityError:
        raise _name_taken(name or "") from None
    if not updated:
        current = Workflow.objects.select_related("updated_by").get(pk=workflow.pk)
        raise Conflict(
            f"The draft was saved by someone else (revision {current.revision}); "
            f"yours was based on revision {revision}.",
            code="stale_revision",
            current_revision=current.revision,
            graph=current.graph,
            updated_by=current.updated_by.username if current.updated_by else None,
        )
    workflow.refresh_from_db()
    audit_record(action="workflow.update", actor=user, target=workflow,
                 data={"changed": sorted(set(changes) - {"updated_at", "updated_by",
                                                         "name_key"}),
                       "revision": workflow.revision})
    return workflow


def workflow_delete(*, workflow: Workflow, user) -> None:
    Workflow.objects.filter(pk=workflow.pk).update(deleted_at=timezone.now(), updated_by=user,
                                                   is_active=False)
    audit_record(action="workflow.delete", actor=user, target=workflow)


@transaction.atomic
def workflow_publish(*, workflow: Workflow, user, note: str = "") -> WorkflowVersion:
    """Freeze the draft as the next version; refuses a graph with errors."""
    locked = Workflow.objects.select_for_update().get(pk=workflow.pk)
    problems = graph_runnable_problems(graph=locked.graph, workflow=locked)
    if problems:
        raise Unprocessable(
            f"The workflow has {len(problems)} problem(s); fix them before publishing. "
            f"First: {problems[0].message}",
            code="invalid_graph", problems=_problems_body(problems))
    last = locked.versions.order_by("-number").values_list("number", flat=True).first() or 0
    version = WorkflowVersion.objects.create(workflow=locked, number=last + 1,
                                             graph=locked.graph, note=note, created_by=user)
    audit_record(action="workflow.publish", actor=user, target=locked,
                 data={"version": version.number, "note": note})
    return version


def workflow_version_restore(*, workflow: Workflow, version: WorkflowVersion,
                             user) -> Workflow:
    Workflow.objects.filter(pk=workflow.pk).update(
        graph=version.graph, revision=F("revision") + 1, updated_at=timezone.now(),
        updated_by=user)
    workflow.refresh_from_db()
    audit_record(action="workflow.restore", actor=user, target=workflow,
                 data={"version": version.number, "revision": workflow.revision})
    return workflow


def workflow_export(*, workflow: Workflow) -> dict[str, Any]:
    audit_record(action="workflow.export", target=workflow)
    return {
        "weft_export": EXPORT_FORMAT,
        "name": workflow.name,
        "description": workflow.description,
        "graph": workflow.graph,
    }


def workflow_import(*, user, document: dict[str, Any]) -> Workflow:
    """Create a workflow from an export; nothing is created when the graph has errors."""
    problems = errors_only(graph_validate(graph=document["graph"]))
    if problems:
        raise Unprocessable(
            f"The imported graph has {len(problems)} problem(s). First: {problems[0].message}",
            code="invalid_graph", problems=_problems_body(problems))
    name = document["name"]
    problem = name_problem(name)
    if problem:
        raise Unprocessable(problem, code="invalid", errors={"name": [problem]})
    with transaction.atomic():
        # Imports of the same name wait for each other, so each picks a name no other took.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                           [f"workflow.import:{name_key(name)}"])
        free = workflow_name_free(name=name)  # an imported copy beside its original
        try:
            with transaction.atomic():
                workflow = Workflow.objects.create(
                    name=free, name_key=name_key(free),
                    description=document.get("description", ""),
                    owner=user, graph=document["graph"], updated_by=user)
        except IntegrityError:
            raise _name_taken(free) from None  # a create or rename took it meanwhile
    audit_record(action="workflow.import", actor=user, target=workflow,
                 data={"name": workflow.name, "nodes": len(document["graph"].get("nodes", []))})
    return workflow
