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


def _with_sample(graph: dict[str, Any], sample: dict[str, Any]) -> dict[str, Any]:
    """The graph with the sample on its trigger, when the trigger's type takes one: a
    draft made from the template starts its test runs from it."""
    from apps.nodes.registry import registry

    for node in graph["nodes"]:
        node_type = registry.get(node["type"], node.get("version"))
        if node_type is not None and node_type.is_trigger \
                and "sample_input" in node_type.Config.model_fields:
            node["config"] = {**node.get("config", {}), "sample_input": sample}
    return graph


def _load(path: Path) -> Template:
    document = json.loads(path.read_text())
    missing = [name for name in FIELDS if name not in document]
    if missing or set(document) - set(FIELDS):
        raise ValueError(f"{path.name}: fields must be {', '.join(FIELDS)}")
    return Template(slug=path.stem, name=document["name"], description=document["description"],
                    teams=tuple(document["teams"]), sample_input=document["sample_input"],
                    graph=_with_sample(document["graph"], document["sample_input"]))


@cache
def templates_load() -> tuple[Template, ...]:
    """Every template, in name order. Cached: the documents ship with the code."""
    return tuple(sorted((_load(path) for path in DOCUMENTS.glob("*.json")),
                        key=lambda template: template.name))


def template_get(*, slug: str) -> Template | None:
    return next((t for t in templates_load() if t.slug == slug), None)
