"""Ports that follow a node's configuration, as a declarative rule (DECISIONS.md,
"Authoring": a pure `ports(config)` of the node type, used by the validator, the
engine and the canvas).

The rule is plain JSON so the editor can evaluate it on every keystroke without a
round trip; `frontend/src/core/portRules.ts` implements the same rule, and both are
run over `frontend/src/core/portRules.cases.json` so they cannot drift apart.

A rule is a list of entries, in drawing order. Each entry is one of:

- a port: ``{"name": "out", "label": "Kept", "required": true, "multiple": false}``,
  optionally drawn only ``"when": {"field": "policy.on_error", "equals": "error_port"}``
  (a dotted path into the config; a missing field reads as the field's default given
  in ``"default"``);
- a repeat over a list field: ``{"from": "cases", "name": "case{n}", "label": "{label}",
  "fallback_label": "Case {n}", "max": 10}``: one port per item, `{n}` is the 1-based
  position and `{key}` an item's field (the fallback is used when that reads empty).

No entry may produce a name twice; the first wins.
"""

from __future__ import annotations

import re
from typing import Any

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _read(config: Any, path: str, default: Any) -> Any:
    value = config
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return default
        value = value[part]
    return default if value is None else value


def _fill(template: str, n: int, item: Any) -> str:
    def one(match: re.Match[str]) -> str:
        key = match.group(1)
        if key == "n":
            return str(n)
        value = item.get(key) if isinstance(item, dict) else None
        return "" if value is None else str(value)

    return PLACEHOLDER.sub(one, template).strip()


def _port(name: str, entry: dict[str, Any], label: str) -> dict[str, Any]:
    return {"name": name, "label": label or name, "required": bool(entry.get("required", True)),
            "multiple": bool(entry.get("multiple", False))}


def evaluate_port_rule(rule: list[dict[str, Any]], config: Any) -> list[dict[str, Any]]:
    """The ports (name, label, required, multiple) a config gives, in order."""
    config = config if isinstance(config, dict) else {}
    ports: list[dict[str, Any]] = []
    seen: set[str] = set()

    def add(port: dict[str, Any]) -> None:
        if port["name"] and port["name"] not in seen:
            seen.add(port["name"])
            ports.append(port)

    for entry in rule:
        when = entry.get("when")
        if when and _read(config, when["field"], when.get("default")) != when["equals"]:
            continue
        source = entry.get("from")
        if source is None:
            add(_port(entry["name"], entry, entry.get("label", "")))
            continue
        items = _read(config, source, [])
        items = items if isinstance(items, list) else []
        limit = entry.get("max")
        for index, item in enumerate(items[:limit] if limit is not None else items, start=1):
            label = _fill(entry.get("label", ""), index, item) or _fill(
                entry.get("fallback_label", entry["name"]), index, item)
            add(_port(_fill(entry["name"], index, item), entry, label))
    return ports


def static_rule(ports: Any) -> list[dict[str, Any]]:
    """The rule of ports that never change: one entry per port."""
    return [port.as_dict() for port in ports]
