"""Who writes a run's or a node run's status: only apps.runs.services.transitions and
apps.runs.rows (DESIGN.md contract 3). Like the role matrix, this fails when another
module of apps/ starts writing one: an ORM update or create with `status=`, a model
built with a status, or SQL that sets `status` on runs_run or runs_noderun."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OWNERS = {"apps/runs/services/transitions.py", "apps/runs/rows.py"}
MODELS = {"Run", "NodeRun"}
WRITES = {"update", "create", "get_or_create", "update_or_create"}
SQL_SETS_STATUS = re.compile(
    r"\bUPDATE\s+runs_(?:node)?run\b(?:\s+AS\s+\w+)?\s+SET\s+(?:(?!\bWHERE\b|\bFROM\b)[^;])*?"
    r"\"?\bstatus\b\"?\s*=", re.IGNORECASE | re.DOTALL)
SQL_INSERTS = re.compile(r"\bINSERT\s+INTO\s+runs_(?:node)?run\b", re.IGNORECASE)


def _may_be_runs(receiver: ast.expr) -> bool:
    """Whether a queryset call's receiver may be rows of Run or NodeRun: `X.objects...`
    is when X is one of them; a queryset passed in by name may be."""
    chain = []
    while isinstance(receiver, ast.Attribute | ast.Call | ast.Subscript):
        if isinstance(receiver, ast.Attribute):
            chain.append(receiver.attr)
            receiver = receiver.value
        else:
            receiver = receiver.func if isinstance(receiver, ast.Call) else receiver.value
    if isinstance(receiver, ast.Name) and chain and chain[-1] == "objects":
        return receiver.id in MODELS
    return True


def _text(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):  # an f-string: its literal parts, holes as spaces
        return " ".join(part.value if isinstance(part, ast.Constant) else " "
                        for part in node.values)
    return None


def status_writes(source: str) -> list[str]:
    """Where `source` writes a run or node-run status: 'line: what'."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            keywords = {keyword.arg for keyword in node.keywords}
            if name in MODELS and "status" in keywords:
                found.append(f"{node.lineno}: {name}(status=...)")
            elif name in WRITES and "status" in keywords and isinstance(func, ast.Attribute) \
                    and _may_be_runs(func.value):
                found.append(f"{node.lineno}: .{name}(status=...)")
            elif name == "bulk_update" and "status" in ast.unparse(node):
                found.append(f"{node.lineno}: .bulk_update(..., ['status'])")
        text = _text(node)
        if text is not None and (SQL_SETS_STATUS.search(text) or SQL_INSERTS.search(text)):
            found.append(f"{node.lineno}: SQL {' '.join(text.split())[:60]!r}")
    return found


def _modules() -> list[Path]:
    return sorted(path for path in (ROOT / "apps").rglob("*.py") if "migrations" not in path.parts)


def test_only_the_transitions_module_and_rows_write_a_status():
    offenders = {}
    for path in _modules():
        relative = path.relative_to(ROOT).as_posix()
        if relative not in OWNERS:
            writes = status_writes(path.read_text())
            if writes:
                offenders[relative] = writes
    assert offenders == {}, (
        "Only apps/runs/services/transitions.py and apps/runs/rows.py write a status; "
        f"ask them instead: {offenders}")


def test_the_owners_do_write_statuses():
    """The check sees the writes that are there (it would see new ones elsewhere)."""
    for owner in OWNERS:
        assert status_writes((ROOT / owner).read_text()), owner


@pytest.mark.parametrize("source", [
    "Run.objects.filter(pk=1).update(status='failed')",
    "NodeRun.objects.select_for_update().filter(run=run).update(status=to, error=None)",
    "queryset.filter(status__in=old).update(status=to)",
    "row = NodeRun(run=run, node_id='a', status='pending')",
    "Run.objects.create(workflow=w, status='queued')",
    "NodeRun.objects.bulk_update(rows, ['status', 'outputs'])",
    "cursor.execute('UPDATE runs_run SET finished_at = now(), status = %s WHERE id = %s')",
    "cursor.execute(f'UPDATE runs_noderun SET \"status\" = %s WHERE id = {pk}')",
    "cursor.execute('INSERT INTO runs_noderun (run_id, status) VALUES (%s, %s)')",
])
def test_a_status_write_is_found(source):
    assert status_writes(source)


@pytest.mark.parametrize("source", [
    "Task.objects.filter(pk=1).update(status='done')",
    "NodeRun.objects.filter(status='queued').update(queued_at=now)",
    "cursor.execute('UPDATE runs_noderun SET dispatched_at = NULL WHERE status = %s')",
    "Run.objects.filter(status=RunStatus.QUEUED).exists()",
    "Response(body, status=201)",
])
def test_what_is_not_a_status_write_is_not_found(source):
    assert status_writes(source) == []
