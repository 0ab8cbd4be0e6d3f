"""The node reference (docs/nodes.md), generated from the node-type registry: each
type's description, ports, config fields and an example node. Examples come from the
workflow templates where a template uses the type, else from EXAMPLES below; the test
validates every example against its type's config model and fails when the file on
disk differs from what this module writes (`manage.py weft_node_reference`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from apps.nodes.base import NodeType
from apps.nodes.registry import registry
from apps.templates.documents_load import templates_load

REFERENCE_PATH = Path(__file__).resolve().parents[2] / "docs" / "nodes.md"
HIDDEN_PREFIXES = ("test.",)  # the engine's test node types (WEFT_TEST_NODES)

# Configs for the types that no template uses.
EXAMPLES: dict[str, dict[str, Any]] = {
    "trigger.manual": {"sample_input": {"amount": 120, "customer": "c-17"}},
    "trigger.error": {},
    "control.delay": {"amount": 2, "unit": "hours"},
    "control.switch": {"cases": [{"condition": "input.total > 1000", "label": "large"}]},
    "control.stop": {},
    "control.wait_until": {"at": "{{ run.input.ship_date }}"},
    "core.noop": {},
    "flow.map": {"workflow_id": "00000000-0000-0000-0000-000000000000", "concurrency": 4,
                 "chunk_size": 100},
    "flow.subworkflow": {"workflow_id": "00000000-0000-0000-0000-000000000000",
                         "input": "{'order': input}"},
    "notify.webhook": {"url": "https://hooks.example.com/services/T000/B000/XXXX",
                       "text": "Run {{ run.id }} needs a look."},
    "trigger.model_alert": {"model": "invoice_risk", "kinds": ["drift"]},
}


def _template_examples() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for template in templates_load():
        for node in template.graph["nodes"]:
            found.setdefault(node["type"], node["config"])
    return found


def node_examples() -> dict[str, dict[str, Any]]:
    """type -> an example config, for every documented type that has one."""
    return {**EXAMPLES, **_template_examples()}


def documented_types() -> list[type[NodeType]]:
    return [t for t in registry if not t.type.startswith(HIDDEN_PREFIXES)]


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _field_type(spec: dict[str, Any]) -> str:
    if "enum" in spec:
        return " \\| ".join(f"`{v}`" for v in spec["enum"])
    if "anyOf" in spec:
        return " or ".join(_field_type(s) for s in spec["anyOf"])
    if "$ref" in spec:
        return spec["$ref"].rsplit("/", 1)[-1]
    kind = spec.get("type", "any")
    if kind == "array" and isinstance(spec.get("items"), dict):
        return f"list of {_field_type(spec['items'])}"
    return str(kind)


def _fields(schema: dict[str, Any]) -> list[str]:
    properties = schema.get("properties", {})
    if not properties:
        return ["No settings."]
    required = set(schema.get("required", []))
    lines = ["| field | type | default | what |", "| --- | --- | --- | --- |"]
    for name, spec in properties.items():
        default = "required" if name in required else (
            f"`{json.dumps(spec['default'])}`" if "default" in spec else "")
        about = spec.get("description") or spec.get("title") or ""
        widget = spec.get("x-weft-widget")
        if widget in ("cel", "template"):
            about = f"({'CEL expression' if widget == 'cel' else 'text with {{ }} templates'}) {about}"
        lines.append(f"| `{name}` | {_cell(_field_type(spec))} | {_cell(default)} | {_cell(about)} |")
    return lines


def _ports(node_type: type[NodeType]) -> list[str]:
    def names(ports: Any) -> str:
        listed = [f"`{p.name}`" + ("" if p.required else " (optional)")
                  + (" (several edges)" if p.multiple else "") for p in ports]
        return ", ".join(listed) or "none"

    return [f"- inputs: {names(node_type.inputs)}", f"- outputs: {names(node_type.outputs)}"]


def _section(node_type: type[NodeType], example: dict[str, Any] | None) -> list[str]:
    queue = node_type.queue or "default"
    lines = [f"## `{node_type.type}` (version {node_type.version})", "",
             f"**{node_type.label or node_type.type}** ({node_type.category}; queue `{queue}`"
             + ("; runs inline" if node_type.pure else "") + f"). {node_type.description}",
             "", *_ports(node_type), "", *_fields(node_type.config_schema()), ""]
    if example is not None:
        node = {"id": node_type.type.split(".")[-1], "type": node_type.type,
                "version": node_type.version, "name": node_type.label or node_type.type,
                "config": example}
        lines += ["Example node:", "", "```json", json.dumps(node, indent=2), "```", ""]
    return lines


def node_reference_markdown() -> str:
    examples = node_examples()
    types = documented_types()
    lines = ["# Node reference", "",
             "Generated from the node-type registry by `python manage.py weft_node_reference`"
             " (`make docs`); do not edit by hand. The same data is served at "
             "`GET /api/node-types/`, and the editor builds each form from it. Expressions: "
             "[expressions.md](expressions.md); writing a new type: "
             "[new-node-type.md](new-node-type.md).", "",
             "| type | label | category |", "| --- | --- | --- |"]
    lines += [f"| [`{t.type}`](#{t.type.replace('.', '')}-version-{t.version}) | "
              f"{_cell(t.label)} | {t.category} |" for t in types]
    lines.append("")
    for node_type in types:
        lines += _section(node_type, examples.get(node_type.type))
    return "\n".join(lines).rstrip() + "\n"
