"""Everything that reads runs for a caller."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Prefetch
from django.shortcuts import get_object_or_404
from django.urls import reverse

from apps.core.errors import NotFound
from apps.core.pagination import KeysetPage, keyset_page
from apps.nodes.registry import registry
from apps.nodes.types.engine import MapOverList
from apps.runs.models import EngineSwitch, MapItem, NodeRun, Run, RunStatus
from apps.runs.refs import map_ref_count, map_ref_owner, unescape
from apps.workflows.models import WorkflowVersion


def run_get(*, run_id) -> Run:
    # In the order they were written (the id sequence): timestamps come from
    # PostgreSQL's clock at the start of each transaction, or from a process's estimate
    # of it, and may tie or cross between rows written close together.
    return get_object_or_404(_run_with_node_runs(), pk=run_id)


def _run_with_node_runs():
    nodes = NodeRun.objects.order_by("id")
    return Run.objects.select_related("version").prefetch_related(
        Prefetch("node_runs", queryset=nodes))


def run_snapshot(*, run_id) -> tuple[dict[str, Any], int, Run] | None:
    """The live view's first message: the run's detail and the sequence number of its
    last event, read in one repeatable-read transaction so that the number and the
    state agree (an event numbered at or below it is shown already). None when there
    is no such run. A run of a deleted workflow is read as on its page and in the API
    (apps.runs.operations): readable until retention deletes it."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost:  # (inside a caller's transaction, that one's reads are consistent)
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        run = _run_with_node_runs().filter(pk=run_id).first()
        if run is None:
            return None
        return run_detail(run=run), run.event_seq, run


def run_detail(*, run: Run) -> dict[str, Any]:
    """The GET /api/runs/<id>/ body (also the live view's first message)."""
    node_runs = list(run.node_runs.all())
    items_urls = _items_urls(run=run, node_runs=node_runs)
    # A node run that waits on a person has a task (apps.approvals), read by its relation.
    tasks = {node_run_id: (str(task_id), title) for node_run_id, task_id, title
             in run.tasks.values_list("node_run_id", "id", "title")}
    return {
        **run_summary(run=run),
        "input": unescape(run.input),
        "trace_id": run.trace_id,
        "parent_run": str(run.parent_run_id) if run.parent_run_id else None,
        "node_runs": [
            {"node_id": n.node_id, "status": n.status, "attempt": n.attempt,
             "inputs": unescape(n.inputs), "outputs": unescape(n.outputs),
             "error": {"type": n.error.get("type", "error"), "message": n.error.get(
                 "message", "")} if n.error else None,
             "started_at": _iso(n.started_at), "finished_at": _iso(n.finished_at),
             "items_url": items_urls.get(n.pk), "items_count": _items_count(n.outputs),
             "task_id": tasks[n.pk][0] if n.pk in tasks else None,
             "task_title": tasks[n.pk][1] if n.pk in tasks else None}
            for n in node_runs
        ],
    }


# --- The items of a map node --------------------------------------------------------------
#
# A map keeps one MapItem row per item (its input, result or error, child run). Its
# output lists the results inline up to MAP_INLINE_MAX items; beyond, the output is a
# reference {"$weft_ref": {"map": <node run pk>, "count": n}} and the items are read a
# page at a time from GET /api/runs/<run>/nodes/<node>/items/.

MAP_ITEMS_LIMIT = 100
MAP_ITEMS_MAX_LIMIT = 1000


def map_items_url(*, run_id, node_id: str) -> str:
    return reverse("run-node-items", kwargs={"run_id": run_id, "node_id": node_id})


def _is_map(row: NodeRun) -> bool:
    return row.node_type == MapOverList.type or (row.state or {}).get("kind") == "map"


def _map_ref_owner(outputs: Any) -> int | None:
    """The node run holding the items, when an output port refers to a map's items
    (read from the stored outputs: data from outside can never pose as such a
    reference, see apps.runs.refs)."""
    for value in (outputs or {}).values() if isinstance(outputs, dict) else ():
        owner = map_ref_owner(value)
        if owner is not None:
            return owner
    return None


def _items_count(outputs: Any) -> int | None:
    """How many items an output port refers to (a big map's result), if any."""
    for value in (outputs or {}).values() if isinstance(outputs, dict) else ():
        count = map_ref_count(value)
        if count is not None:
            return count
    return None


def _items_urls(*, run: Run, node_runs: list[NodeRun]) -> dict[int, str]:
    """node run pk -> where its items are, for the node runs whose items are not in
    their output: an output that refers to a map's items (the map's own, or another
    map's passed on by a later node or a sub-workflow), and a map still running, failed
    or cancelled (its items show progress and which failed). A map whose results are
    inline, and earlier attempts the URL would no longer reach, get none."""
    latest: dict[str, NodeRun] = {}
    for row in node_runs:
        if row.node_id not in latest or row.attempt > latest[row.node_id].attempt:
            latest[row.node_id] = row
    current = {row.pk: row for row in latest.values()}
    in_run = {row.pk for row in node_runs}
    urls: dict[int, str] = {}
    foreign: dict[int, list[int]] = {}  # owner pk (in another run) -> node runs naming it
    for row in node_runs:
        owner = _map_ref_owner(row.outputs)
        if owner is None and row.pk in current and _is_map(row) and \
                (row.state or {}).get("total") and \
                not isinstance((row.outputs or {}).get("out"), list):
            owner = row.pk
        if owner is None:
            continue
        if owner in current:
            urls[row.pk] = map_items_url(run_id=run.pk, node_id=current[owner].node_id)
        elif owner not in in_run:  # (an earlier attempt here: its items are not reachable)
            foreign.setdefault(owner, []).append(row.pk)
    if foreign:
        later = NodeRun.objects.filter(run_id=OuterRef("run_id"), node_id=OuterRef("node_id"),
                                       attempt__gt=OuterRef("attempt"))
        owners = NodeRun.objects.filter(pk__in=foreign).annotate(
            superseded=Exists(later)).values_list("pk", "run_id", "node_id", "superseded")
        for pk, run_id, node_id, superseded in owners:
            if not superseded:
                for row_pk in foreign[pk]:
                    urls[row_pk] = map_items_url(run_id=run_id, node_id=node_id)
    return urls


def map_node_run_get(*, run_id, node_id: str) -> NodeRun:
    """The latest attempt of a map node in a run; a 404 naming what is missing."""
    run = Run.objects.filter(pk=run_id).only("pk", "version_id").first()
    if run is None:
        raise NotFound(f"Run {run_id} does not exist.", code="run_not_found",
                       run=str(run_id))
    row = (NodeRun.objects.filter(run=run, node_id=node_id).only(
        "pk", "node_id", "node_type", "attempt", "status", "state").order_by("-attempt")
        .first())
    if row is None:
        in_graph = WorkflowVersion.objects.filter(
            pk=run.version_id, graph__contains={"nodes": [{"id": node_id}]}).exists()
        detail = (f"Node {node_id!r} has not run yet in run {run_id}." if in_graph
                  else f"Run {run_id} has no node {node_id!r}.")
        raise NotFound(detail, code="node_not_found", run=str(run_id), node_id=node_id)
    if not _is_map(row):
        raise NotFound(f"Node {node_id!r} ({row.node_type or 'unknown type'}) is not a map: "
                       "it has no items.", code="not_a_map", run=str(run_id),
                       node_id=node_id)
    return row


def map_item_page(*, run_id, node_id: str, after: int | None = None,
                  limit: int = MAP_ITEMS_LIMIT, failed: bool = False) -> KeysetPage:
    """A page of a map node's items in index order, after the index `after`;
    `failed` keeps only the items that ended with an error (and counts only those)."""
    row = map_node_run_get(run_id=run_id, node_id=node_id)
    items = MapItem.objects.filter(node_run=row)
    # Every item's row is written with the map's `total`, in one transaction: no need
    # to count 100,000 rows for each page.
    count = (row.state or {}).get("total")
    if failed:
        items, count = items.filter(error__isnull=False), None
    page = keyset_page(items.only("index", "input", "output", "error", "done",
                                  "child_run_id"),
                       key="index", after=after, count=count,
                       limit=max(1, min(limit, MAP_ITEMS_MAX_LIMIT)))
    page.rows = [{"index": item.index, "input": unescape(item.input),
                  "output": unescape(item.output),
                  "error": item.error, "done": item.done,
                  "child_run": str(item.child_run_id) if item.child_run_id else None}
                 for item in page.rows]
    return page


def _iso(moment) -> str | None:
    if moment is None:
        return None
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def run_graph(*, run_id) -> dict[str, Any]:
    """The graph a run ran (its version or test snapshot), as the editor draws it."""
    run = get_object_or_404(Run.objects.select_related("version").only(
        "pk", "mode", "version__number", "version__graph", "version__pins"), pk=run_id)
    return {"mode": run.mode, "version": run.version.number,
            "graph": registry.upgrade_graph(run.version.graph),
            "pinned": sorted(run.version.pins or {})}


def run_summary(*, run: Run) -> dict[str, Any]:
    return {"id": str(run.pk), "workflow": str(run.workflow_id),
            "version": run.version.number, "status": run.status, "trigger": run.trigger,
            "mode": run.mode,
            "created_at": _iso(run.created_at), "started_at": _iso(run.started_at),
            "finished_at": _iso(run.finished_at), "error": run.error}


def engine_switches() -> dict[str, Any]:
    rows = EngineSwitch.objects.filter(paused=True).select_related("changed_by")
    body: dict[str, Any] = {"paused": False, "reason": "", "workflows": []}
    for row in rows:
        entry = {"reason": row.reason, "changed_at": _iso(row.changed_at),
                 "changed_by": row.changed_by.username if row.changed_by else None}
        if row.workflow_id is None:
            body.update(paused=True, **entry)
        else:
            body["workflows"].append({"workflow": str(row.workflow_id), **entry})
    return body


def queue_depths() -> dict[str, int]:
    import redis

    from celery_worker.app import QUEUES

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=1,
                                  socket_connect_timeout=1)
    try:
        # kombu's Redis transport keeps priority sub-queues as "<queue>\x06\x16<n>".
        depths = {}
        for queue in QUEUES:
            names = [queue] + [f"{queue}\x06\x16{p}" for p in (3, 6, 9)]
            depths[queue] = sum(client.llen(name) for name in names)
        return depths
    except redis.RedisError:
        return {}
    finally:
        client.close()


def runs_active_counts() -> dict[str, int]:
    active = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.WAITING, RunStatus.PAUSED)
    counts = dict.fromkeys(active, 0)
    for row in Run.objects.filter(status__in=active).values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    return counts
