"""The SQL of the engine's hot paths: run and node-run rows read and written in as few
round trips as the work allows, without the ORM's query compiler.

`apps.runs.services` stays the one owner of status changes: it says which rows change
and to what (its transition tables, compare-and-set on the status it read), and calls
this module to turn that into statements. The one rule written here is a worker's
claim (`node_run_claim`), from the states `apps.runs.services.transitions` names:
queued, or running under a lapsed lease or a holder that stopped beating, run active,
engine not paused. Leases are taken and compared with
PostgreSQL's clock (`now()`), never a worker's. Rows come back as ordinary model instances.

Large port values stay in PostgreSQL: rows are read *lean* (see `lean_sql`), with a
port value over LARGE_JSON_BYTES / 4, in a column over LARGE_JSON_BYTES, replaced by a
small reference {REF_KEY: {"node_run": pk, "field": ..., "port": ...}} (see
`apps.runs.refs`: stored data never holds that key, so it cannot be forged).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import JSONField, Model

from apps.core.db import prepared_cursor
from apps.runs.models import NodeRun, NodeStatus, Run
from apps.runs.refs import REF_KEY
from apps.runs.services.transitions import (
    CLAIM_FROM_QUEUED,
    CLAIM_FROM_TAKEOVER,
    CLAIM_RUN_STATUSES,
    CLAIM_TO,
    DEFER_FROM,
    DEFER_TO,
    HOLD_FROM,
    HOLD_TO,
)

LARGE_JSON_BYTES = 32 * 1024


def lean_sql(table: str, field_name: str) -> str:
    """A JSON column of runs_noderun (`table` is its name or alias in the statement),
    with port values too large to travel replaced by references to themselves. Takes
    the named parameters of `lean_params()`."""
    column = f'{table}."{field_name}"'
    return (f"CASE WHEN pg_column_size({column}) > %(large)s "
            f"AND jsonb_typeof({column}) = 'object' "
            f"THEN (SELECT jsonb_object_agg(k, CASE WHEN pg_column_size({column} -> k) > "
            f"%(large_port)s THEN jsonb_build_object('{REF_KEY}', "
            f"jsonb_build_object('node_run', {table}.\"id\", 'field', '{field_name}', "
            f"'port', k)) ELSE {column} -> k END) FROM jsonb_object_keys({column}) AS k) "
            f"ELSE {column} END")


def lean_params() -> dict[str, int]:
    return {"large": LARGE_JSON_BYTES, "large_port": LARGE_JSON_BYTES // 4}


# --- Reading -------------------------------------------------------------------------------

@cache
def _columns(model: type[Model], lean: tuple[str, ...] = ()) -> tuple[list[str], str]:
    """Attribute names and the SELECT list (table alias `t`), JSON columns in `lean`
    read lean."""
    names, parts = [], []
    for f in model._meta.concrete_fields:
        names.append(f.attname)
        parts.append(lean_sql("t", f.column) if f.attname in lean else f't."{f.column}"')
    return names, ", ".join(parts)


@cache
def _json_positions(model: type[Model]) -> tuple[int, ...]:
    return tuple(i for i, f in enumerate(model._meta.concrete_fields)
                 if isinstance(f, JSONField))


def _json(value: Any) -> Any:
    """A jsonb value as read: the backend hands jsonb over as text (JSONField decodes
    it itself), so raw statements decode it here."""
    return json.loads(value) if isinstance(value, str) else value


def _instances(model: type[Model], names: list[str], records) -> list[Any]:
    positions = _json_positions(model)
    out = []
    for record in records:
        values = list(record)
        for i in positions:
            values[i] = _json(values[i])
        out.append(model.from_db("default", names, values))
    return out


def run_lock(run_id) -> Run | None:
    """The run, locked until the transaction ends: one step of a run at a time, with
    PostgreSQL's clock at the lock as `locked_at`. (FOR NO
    KEY UPDATE: rows that refer to the run, such as a map's child runs, can still be
    inserted meanwhile.)"""
    names, select = _columns(Run)
    with prepared_cursor() as cursor:
        cursor.execute(f"SELECT {select}, now() FROM runs_run t WHERE t.id = %(id)s "
                       "FOR NO KEY UPDATE", {"id": run_id})
        records = cursor.fetchall()
    if not records:
        return None
    run = _instances(Run, names, [record[:-1] for record in records])[0]
    run.locked_at = records[0][-1]  # PostgreSQL's clock: the step's `now`
    return run


def node_runs_of(run_id) -> list[NodeRun]:
    """Every row of a run (lean), in (node_id, attempt) order: the latest attempt last."""
    names, select = _columns(NodeRun, ("inputs", "outputs"))
    with prepared_cursor() as cursor:
        cursor.execute(f"SELECT {select} FROM runs_noderun t WHERE t.run_id = %(id)s "
                       "ORDER BY t.node_id, t.attempt", {"id": run_id, **lean_params()})
        return _instances(NodeRun, names, cursor.fetchall())


# --- A worker's claim ----------------------------------------------------------------------

@dataclass
class Claim:
    row: NodeRun  # with .run set (the run's identity and data, not its status)
    outputs: dict[str, dict[str, Any]]  # node_id -> lean outputs of succeeded nodes
    now: datetime  # PostgreSQL's clock when the claim was made
    # The number of the run's event that says this node started (its first delivery),
    # counted by the claim itself; None when not counted there (see _claim_sql).
    event_seq: int | None = None


_RUN_PART = ("workflow_id", "version_id", "input", "trigger", "trace_id", "vars")

# A running row's holder is gone when its heartbeat (apps.runs.outbox) is older than
# %(dead_after)s seconds, judged only once PostgreSQL itself has been up that long (a
# database restart stops every beat for a while; it must not make live holders look
# dead). Holders without a heartbeat row are judged by their lease alone.
HOLDER_GONE_SQL = (
    "EXISTS (SELECT 1 FROM runs_workerheartbeat h WHERE h.holder = {table}.worker"
    " AND h.beat_at < now() - make_interval(secs => %(dead_after)s)"
    " AND pg_postmaster_start_time() < now() - make_interval(secs => %(dead_after)s))")


@cache
def _claim_sql() -> str:
    names, _ = _columns(NodeRun)
    returning = [lean_sql("runs_noderun", n) if n in ("inputs", "outputs")
                 else f'runs_noderun."{NodeRun._meta.get_field(n).column}"' for n in names]
    returning += [f'r."{Run._meta.get_field(n).column}"' for n in _RUN_PART]
    returning = ", ".join(f"{sql} AS c{i}" for i, sql in enumerate(returning))
    run_id, deliveries = f"c{names.index('run_id')}", f"c{names.index('delivery_count')}"
    # A first delivery's "running" event is numbered by the claim (the run's event_seq
    # goes up with it). Only if the run's row is free: a step of the run holding it may
    # be about to change this very node (a failure cancels the open ones), so waiting
    # for it here could deadlock; then the event is numbered after the claim instead.
    numbered = (
        ", numbered AS (UPDATE runs_run SET event_seq = event_seq + 1"
        " WHERE id = (SELECT n.id FROM runs_run n WHERE n.id ="
        f" (SELECT {run_id} FROM claimed WHERE {deliveries} = 1)"
        " FOR NO KEY UPDATE SKIP LOCKED) RETURNING event_seq)")
    return (
        "WITH claimed AS ("
        " UPDATE runs_noderun SET status = %(claimed)s,"
        " delivery_count = runs_noderun.delivery_count + 1,"
        " started_at = COALESCE(runs_noderun.started_at, now()),"
        " worker = %(holder)s, lease_until = now() + make_interval(secs => %(lease_s)s)"
        " FROM runs_run r"
        " WHERE runs_noderun.id = %(id)s AND r.id = runs_noderun.run_id"
        " AND r.status = ANY(%(run_statuses)s)"
        " AND (CASE WHEN %(take_from)s::text IS NULL"
        " THEN runs_noderun.status = %(queued)s OR (runs_noderun.status = %(takeover)s"
        " AND (runs_noderun.lease_until IS NULL OR runs_noderun.lease_until < now()"
        f" OR {HOLDER_GONE_SQL.format(table='runs_noderun')}))"
        " ELSE runs_noderun.status = %(takeover)s AND runs_noderun.worker = %(take_from)s END)"
        " AND NOT EXISTS (SELECT 1 FROM runs_engineswitch s WHERE s.paused"
        " AND (s.workflow_id IS NULL OR s.workflow_id = r.workflow_id))"
        f" RETURNING {returning}){numbered}"
        " SELECT claimed.*, (SELECT event_seq FROM numbered), now(),"
        " (SELECT jsonb_agg(jsonb_build_array(o.node_id, "
        f"{lean_sql('o', 'outputs')}) ORDER BY o.node_id, o.attempt)"
        f" FROM runs_noderun o WHERE o.run_id = claimed.{run_id}"
        " AND o.status = %(succeeded)s)"
        " FROM claimed")


def node_run_claim(node_run_id: int, *, holder: str, lease_s: float, dead_after_s: float,
                   take_from: str | None = None) -> Claim | None:
    """Take a queued node run (or a running one whose lease lapsed or whose holder
    stopped beating; or, with `take_from`, one that holder runs) for this worker and
    read what it needs, in one statement: the row (lean), its run, and the lean
    outputs of the run's succeeded nodes. The lease runs `lease_s` from PostgreSQL's
    clock. None when it is not claimable now: not queued, lease held by a live holder,
    run not active, or the engine paused for its workflow."""
    params = {"claimed": CLAIM_TO, "queued": CLAIM_FROM_QUEUED,
              "takeover": CLAIM_FROM_TAKEOVER, "succeeded": NodeStatus.SUCCEEDED,
              "run_statuses": [status.value for status in CLAIM_RUN_STATUSES], "holder": holder,
              "lease_s": float(lease_s),
              "dead_after": float(dead_after_s), "id": node_run_id, "take_from": take_from,
              **lean_params()}
    with prepared_cursor() as cursor:
        cursor.execute(_claim_sql(), params)
        record = cursor.fetchone()
    if record is None:
        return None
    names, _ = _columns(NodeRun)
    count = len(names)
    row = _instances(NodeRun, names, [record[:count]])[0]
    run_values = dict(zip(_RUN_PART, record[count:count + len(_RUN_PART)], strict=True))
    run_values["input"], run_values["vars"] = _json(run_values["input"]), _json(
        run_values["vars"])
    row.run = Run(id=row.run_id, **run_values)
    return Claim(row=row, outputs=dict(_json(record[-1]) or []), now=record[-2],
                 event_seq=record[-3])


def node_run_renew(node_run_id: int, *, holder: str, lease_s: float) -> bool:
    """Extend the lease of a node this holder runs, from PostgreSQL's clock."""
    with prepared_cursor() as cursor:
        cursor.execute("UPDATE runs_noderun SET lease_until = now() + make_interval(secs => %s)"
                       " WHERE id = %s AND status = %s AND worker = %s",
                       [float(lease_s), node_run_id, NodeStatus.RUNNING, holder])
        return cursor.rowcount == 1


def node_runs_renew(node_run_ids: list[int], *, holder: str, lease_s: float) -> set[int]:
    """Extend the leases of the nodes this holder runs (or holds: `node_run_hold`), in
    one statement; the ids that are still this holder's (the others were cancelled, or
    taken over)."""
    with prepared_cursor() as cursor:
        cursor.execute("UPDATE runs_noderun SET lease_until = now() + make_interval(secs => %s)"
                       " WHERE id = ANY(%s) AND status = ANY(%s) AND worker = %s RETURNING id",
                       [float(lease_s), list(node_run_ids), [HOLD_FROM, HOLD_TO], holder])
        return {record[0] for record in cursor.fetchall()}


def node_run_hold(node_run_id: int, *, holder: str) -> bool:
    """A node this holder claimed waits for a cap before its call: queued again (no
    started time) while still this holder's; False when it is no longer its."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE runs_noderun SET status = %s, started_at = NULL"
                       " WHERE id = %s AND status = %s AND worker = %s",
                       [HOLD_TO, node_run_id, HOLD_FROM, holder])
        return cursor.rowcount == 1


def node_run_held_start(node_run_id: int, *, holder: str, lease_s: float) -> datetime | None:
    """A held node's call starts: running again from now (PostgreSQL's clock), its
    lease renewed; None when it is no longer this holder's (cancelled, or claimed by
    another delivery while it waited)."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE runs_noderun SET status = %s, started_at = now(),"
                       " lease_until = now() + make_interval(secs => %s)"
                       " WHERE id = %s AND status = %s AND worker = %s RETURNING started_at",
                       [HOLD_FROM, float(lease_s), node_run_id, HOLD_TO, holder])
        record = cursor.fetchone()
        return record[0] if record else None


def node_run_defer(node_run_id: int, *, holder: str, delay_s: float) -> datetime | None:
    """A held node (`node_run_hold`) waits for its turn in the database: pending, due
    `delay_s` from now (PostgreSQL's clock), no longer this holder's; its due time, or
    None when it is no longer this holder's."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE runs_noderun SET status = %s, worker = '', lease_until = NULL,"
                       " started_at = NULL, due_at = now() + make_interval(secs => %s)"
                       " WHERE id = %s AND status = %s AND worker = %s RETURNING due_at",
                       [DEFER_TO, float(delay_s), node_run_id, DEFER_FROM, holder])
        record = cursor.fetchone()
        return record[0] if record else None


def run_answer_read(run_id) -> tuple[Any, str, int] | None:
    """A respond webhook's view of its run: (response, status, number of its last event),
    or None when the run is gone. One statement, read on every wake-up of a waiting
    caller, so without the ORM's query building."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT response, status, event_seq FROM runs_run WHERE id = %s",
                       [run_id])
        record = cursor.fetchone()
    if record is None:
        return None
    return _json(record[0]), record[1], int(record[2] or 0)


def db_now() -> datetime:
    """PostgreSQL's clock (the transaction's start inside a transaction): the one clock
    that leases, due times and timers are computed and compared with."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        return cursor.fetchone()[0]


def sweep_turn(*, name: str, every_s: float) -> bool:
    """Take the sweep `name`'s turn if it last ran at least `every_s` ago (PostgreSQL's
    clock): True when this caller should sweep now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO runs_sweepmark (name, swept_at) VALUES (%s, now()) "
            "ON CONFLICT (name) DO UPDATE SET swept_at = now() "
            "WHERE runs_sweepmark.swept_at <= now() - make_interval(secs => %s) "
            "RETURNING name", [name, float(every_s)])
        return cursor.fetchone() is not None


# --- Writing a step ------------------------------------------------------------------------

def _json_row(obj: Model, fields) -> dict[str, Any]:
    row = {}
    for f in fields:
        value = getattr(obj, f.attname)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, uuid.UUID):
            value = str(value)
        row[f.column] = value
    return row


def _set_clause(model: type[Model], fields: dict[str, Any]) -> tuple[str, list[Any]]:
    meta = model._meta
    parts, params = [], []
    for name, value in fields.items():
        f = meta.get_field(name)
        parts.append(f'"{f.column}" = %s')
        params.append(f.get_db_prep_save(value, connection))
    return ", ".join(parts), params


@dataclass
class StepWrite:
    """What a step writes: checked (compare-and-set) updates must each touch one row."""

    run_insert: Run | None = None
    run_update: tuple[Any, str | None, dict[str, Any]] | None = None  # pk, expected, fields
    row_updates: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    new_rows: list[NodeRun] = field(default_factory=list)
    # A new run's precondition, as SQL returning a row when the run may be written (and
    # its params): the insert of a request receipt (apps.runs.replay). The run and its
    # rows are inserted only when it returns one; else step_write answers False.
    guard: tuple[str, list[Any]] | None = None
    # The step's events, numbered in the same statement: the run's event_seq goes up
    # by `events` (a new run's is inserted with it), and `event_seq` is set to the
    # number of the last one (apps.runs.events.stamp_run_events says why they are).
    run_id: Any = None
    events: int = 0
    event_seq: int | None = None


def guard_holds(guard: tuple[str, list[Any]]) -> bool:
    """Run a StepWrite guard on its own (a run written otherwise than by step_write)."""
    with connection.cursor() as cursor:
        cursor.execute(f"WITH guard AS ({guard[0]}) SELECT count(*) FROM guard", guard[1])
        return cursor.fetchone()[0] == 1


def step_write(write: StepWrite) -> bool:
    """All of a step's writes in one statement (data-modifying CTEs); its own
    transaction unless the caller holds one. Sets the new rows' ids. False when a
    compare-and-set found its row moved on: the caller's transaction must then be
    rolled back (raise), as part of the statement may have been applied."""
    ctes, params, checks = [], [], []
    only_if = ""
    if write.guard is not None:
        ctes.append(f"guard AS ({write.guard[0]})")
        params += write.guard[1]
        checks.append("guard")
        only_if = " WHERE EXISTS (SELECT 1 FROM guard)"
    if write.run_insert is not None:
        run_fields = Run._meta.concrete_fields
        cols = ", ".join(f'"{f.column}"' for f in run_fields)
        ctes.append(f"new_run AS (INSERT INTO runs_run ({cols}) SELECT {cols} FROM "
                    f"jsonb_populate_record(NULL::runs_run, %s::jsonb){only_if})")
        params.append(json.dumps(_json_row(write.run_insert, run_fields)))
    numbered = ""  # the CTE returning the run's event_seq after this step's events
    if write.run_update is not None:
        pk, expected, fields = write.run_update
        if fields:
            assignments, values = _set_clause(Run, fields)
            where = "id = %s" + (" AND status = %s" if expected is not None else "")
            if write.events:
                assignments += ", event_seq = event_seq + %s"
                values.append(write.events)
                numbered = f"w{len(ctes)}"
            ctes.append(f"w{len(ctes)} AS (UPDATE runs_run SET {assignments} WHERE {where} "
                        "RETURNING event_seq)")
            params += values + [pk] + ([expected] if expected is not None else [])
            if expected is not None:
                checks.append(f"w{len(ctes) - 1}")
    if write.events and not numbered and write.run_insert is None:
        numbered = f"w{len(ctes)}"
        ctes.append(f"{numbered} AS (UPDATE runs_run SET event_seq = event_seq + %s "
                    "WHERE id = %s RETURNING event_seq)")
        params += [write.events, write.run_id]
    for pk, expected, fields in write.row_updates:
        assignments, values = _set_clause(NodeRun, fields)
        ctes.append(f"w{len(ctes)} AS (UPDATE runs_noderun SET {assignments} "
                    "WHERE id = %s AND status = %s RETURNING 1)")
        params += values + [pk, expected]
        checks.append(f"w{len(ctes) - 1}")
    inserted = bool(write.new_rows)
    if inserted:
        row_fields = [f for f in NodeRun._meta.concrete_fields if not f.primary_key]
        cols = ", ".join(f'"{f.column}"' for f in row_fields)
        ctes.append(f"new_rows AS (INSERT INTO runs_noderun ({cols}) SELECT {cols} FROM "
                    f"jsonb_populate_recordset(NULL::runs_noderun, %s::jsonb){only_if} "
                    "RETURNING id, node_id, attempt)")
        params.append(json.dumps([_json_row(row, row_fields) for row in write.new_rows]))
    if not ctes:
        return True
    counts = ", ".join(f"(SELECT count(*) FROM {name})" for name in checks) or "0"
    ids = ("(SELECT jsonb_agg(jsonb_build_array(id, node_id, attempt)) FROM new_rows)"
           if inserted else "NULL")
    seq = f"(SELECT event_seq FROM {numbered})" if numbered else "NULL"
    sql = f"WITH {', '.join(ctes)} SELECT ARRAY[{counts}], {ids}, {seq}"
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        record = cursor.fetchone()
    if checks and any(count != 1 for count in record[0]):
        return False
    if write.events:
        write.event_seq = (write.run_insert.event_seq if write.run_insert is not None
                           else record[2])
    if inserted:
        ids_by_key = {(node_id, attempt): pk for pk, node_id, attempt in _json(record[1])}
        for row in write.new_rows:
            row.pk = ids_by_key[(row.node_id, row.attempt)]
            row._state.adding = False
            row._state.db = "default"
    if write.run_insert is not None:
        write.run_insert._state.adding = False
        write.run_insert._state.db = "default"
    return True


# --- Maps: a map's list and items, inside PostgreSQL -------------------------------------

def map_list_source(node_run_id: int) -> tuple[str, list[Any]] | tuple[None, int]:
    """Where the map's list lies: SQL giving the JSON value (following references to
    other rows), or (None, pk) when it is another map's result (its item rows)."""
    sql, params = "(SELECT inputs->'in' FROM runs_noderun WHERE id = %s)", [node_run_id]
    for _ in range(8):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT CASE WHEN jsonb_typeof(v) = 'object' AND v ? '{REF_KEY}' "
                           f"THEN v->'{REF_KEY}' END FROM (SELECT {sql} AS v) AS s", params)
            ref = cursor.fetchone()[0]
        if ref is None:
            break
        if "map" in ref:
            return None, int(ref["map"])
        field_name = "outputs" if ref.get("field") == "outputs" else "inputs"
        sql = f"(SELECT {field_name} -> %s FROM runs_noderun WHERE id = %s)"
        params = [str(ref["port"]), int(ref["node_run"])]
    return sql, params


def map_list_shape(source: tuple[str, list[Any]] | tuple[None, int]) -> tuple[str, int]:
    """The JSON type of a map's list ('array' when it is one) and its length."""
    sql, params = source
    with connection.cursor() as cursor:
        if sql is None:
            cursor.execute("SELECT 'array', count(*) FROM runs_mapitem WHERE node_run_id = %s",
                           [params])
        else:
            cursor.execute(f"SELECT jsonb_typeof(v), jsonb_array_length(CASE WHEN "
                           f"jsonb_typeof(v) = 'array' THEN v ELSE '[]' END) "
                           f"FROM (SELECT {sql} AS v) AS s", params)
        kind, total = cursor.fetchone()
    return kind, total


def map_items_insert(node_run_id: int, source: tuple[str, list[Any]] | tuple[None, int]) -> None:
    """One item row per element of the list (the list never leaves PostgreSQL)."""
    sql, params = source
    with connection.cursor() as cursor:
        if sql is None:
            cursor.execute("INSERT INTO runs_mapitem (node_run_id, index, input, done) "
                           "SELECT %s, index, output, false FROM runs_mapitem "
                           "WHERE node_run_id = %s", [node_run_id, params])
        else:
            cursor.execute(
                "INSERT INTO runs_mapitem (node_run_id, index, input, done) "
                "SELECT %s, t.ord - 1, t.value, false FROM "
                f"jsonb_array_elements({sql}) WITH ORDINALITY AS t(value, ord)",
                [node_run_id, *params])


def map_chunks_in_flight(node_run_id: int, *, chunk_size: int, started: int) -> int:
    """How many of the first `started` chunks still have items not done."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(DISTINCT index / %s) FROM runs_mapitem "
                       "WHERE node_run_id = %s AND NOT done AND index < %s",
                       [chunk_size, node_run_id, started * chunk_size])
        return cursor.fetchone()[0]


def map_results_gather(node_run_id: int) -> None:
    """The items' results, in order, as the map node's outputs (in its state)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE runs_noderun SET state = state || jsonb_build_object("
            "'outputs', jsonb_build_object('out', COALESCE((SELECT jsonb_agg("
            "output ORDER BY index) FROM runs_mapitem WHERE node_run_id = %s), "
            "'[]'::jsonb))) WHERE id = %s", [node_run_id, node_run_id])


# --- The outbox's mark -----------------------------------------------------------------

def mark_published(*, pks: list[int]) -> int:
    """The broker took these queued node runs' messages (apps.runs.outbox)."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE runs_noderun SET dispatched_at = now() WHERE id = ANY(%s) "
                       "AND status = %s AND dispatched_at IS NULL",
                       [list(pks), NodeStatus.QUEUED])
        return cursor.rowcount
