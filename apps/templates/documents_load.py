"""Read the template documents; a malformed one is a programming error (the test names it)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DOCUMENTS = Path(__file__).with_name("documents")
FIELDS = ("name", "description", "teams", "sample_input", "graph")


@dataclass(frozen=True)
class Template:
    slug: str  # the document's file name without .json
    name: str
    description: str
    teams: tuple[str, ...]  # teams its approvals assign work to: publishing needs them
    sample_input: dict[str, Any]
    graph: dict[str, Any]


def _load(path: Path) -> Template:
    document = json.loads(path.read_text())
    missing = [name for name in FIELDS if name not in document]
    if missing or set(document) - set(FIELDS):
        raise ValueError(f"{path.name}: fields must be {', '.join(FIELDS)}")
    return Template(slug=path.stem, name=document["name"], description=document["description"],
                    teams=tuple(document["teams"]), sample_input=document["sample_input"],
                    graph=document["graph"])


@cache
def templates_load() -> tuple[Template, ...]:
    """Every template, in name order. Cached: the documents ship with the code."""
    return tuple(sorted((_load(path) for path in DOCUMENTS.glob("*.json")),
                        key=lambda template: template.name))


def template_get(*, slug: str) -> Template | None:
    return next((t for t in templates_load() if t.slug == slug), None)
