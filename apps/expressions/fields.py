"""Helpers for node authors: config fields that hold CEL or templates, and the
publish-time check that reports invalid ones by field name.

    class MyConfig(NodeConfig):
        condition: str = CelField(title="Condition", names=("item",))
        url: str = TemplateField(title="URL")

The JSON Schema of such a field carries `"x-weft-widget": "cel"` (or
`"template"`) so the editor offers an expression input and checks it as you
type through POST /api/expressions/check/; `x-weft-variables` lists names the
node adds beyond input, nodes, run and vars.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from apps.expressions.core import check, check_template

CEL_WIDGET = "cel"
TEMPLATE_WIDGET = "template"
CREDENTIAL_WIDGET = "credential"
WIDGET_KEY = "x-weft-widget"
VARIABLES_KEY = "x-weft-variables"


def _extra(widget: str, names: tuple[str, ...], extra: dict[str, Any] | None) -> dict[str, Any]:
    schema_extra: dict[str, Any] = {WIDGET_KEY: widget}
    if names:
        schema_extra[VARIABLES_KEY] = list(names)
    schema_extra.update(extra or {})
    return schema_extra


def CelField(default: Any = ..., *, names: tuple[str, ...] = (),  # noqa: N802
             json_schema_extra: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """A config field holding one CEL expression."""
    return Field(default, json_schema_extra=_extra(CEL_WIDGET, names, json_schema_extra),
                 **kwargs)


def TemplateField(default: Any = ..., *, names: tuple[str, ...] = (),  # noqa: N802
                  json_schema_extra: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """A config field holding text (or a map/list of texts) with `{{ expression }}` parts."""
    return Field(default, json_schema_extra=_extra(TEMPLATE_WIDGET, names, json_schema_extra),
                 **kwargs)


def CredentialField(default: Any = None, *,  # noqa: N802
                    kinds: tuple[str, ...] = (), **kwargs: Any) -> Any:
    """A config field holding the id of a stored credential (never the secret)."""
    extra: dict[str, Any] = {WIDGET_KEY: CREDENTIAL_WIDGET}
    if kinds:
        extra["x-weft-credential-kinds"] = list(kinds)
    return Field(default, json_schema_extra=extra, **kwargs)


def _strings(value: Any, path: str):
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, sub in value.items():
            yield from _strings(sub, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, sub in enumerate(value):
            yield from _strings(sub, f"{path}[{index}]")


@dataclass(frozen=True)
class ExpressionField:
    """One expression (or template) held in a config: its field path and the names
    its node adds."""

    path: str
    text: str
    template: bool
    names: tuple[str, ...]


def expression_fields(config: BaseModel, prefix: str = "") -> Iterator[ExpressionField]:
    """Every CEL expression and template in a config, by field path (`fields[0].value`);
    empty CEL fields are left out (emptiness is the schema's business)."""
    for name, info in type(config).model_fields.items():
        value = getattr(config, name, None)
        path = f"{prefix}{name}"
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        widget = extra.get(WIDGET_KEY)
        names = tuple(extra.get(VARIABLES_KEY, ()))
        if widget in (CEL_WIDGET, TEMPLATE_WIDGET):
            for where, text in _strings(value, path):
                if widget == CEL_WIDGET and not text.strip():
                    continue
                yield ExpressionField(where, text, widget == TEMPLATE_WIDGET, names)
            continue
        for where, sub in _models(value, path):
            yield from expression_fields(sub, prefix=f"{where}.")


def expression_problems(config: BaseModel, prefix: str = "") -> list[str]:
    """Every invalid CEL expression or template in a config, each naming its field:
    "field 'fields[0].value': Syntax error: ... (at character 4)"."""
    problems: list[str] = []
    for field in expression_fields(config, prefix):
        error = (check_template(field.text, names=field.names) if field.template
                 else check(field.text, names=field.names))
        if error is not None:
            at = f" (at character {error.position})" if error.position is not None else ""
            problems.append(f"field {field.path!r}: {error.message}{at}")
    return problems


def _models(value: Any, path: str):
    if isinstance(value, BaseModel):
        yield path, value
    elif isinstance(value, list | tuple):
        for index, sub in enumerate(value):
            yield from _models(sub, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, sub in value.items():
            yield from _models(sub, f"{path}.{key}")
