"""Forms speak to builders: every node type's config schema, nested models and `$defs`
included, has titles in words (never a class name) and help written for the person
building the flow (never a developer's docstring)."""

import re

import pytest

from apps.nodes.registry import registry

CLASS_NAME = re.compile(r"^[A-Z][a-z0-9]+(?:[A-Z][A-Za-z0-9]*)+$")  # SetField, ExecutionPolicy
# What a docstring for developers says and a builder's help does not.
DEVELOPER_WORDS = re.compile(
    r"`|\bnode type\b|\bconfig\b|\bDESIGN\.md\b|\bcontract\b|\bsubclass|\bopts? in\b|"
    r"\bpolicy_field\b|\bERROR_PORT\b|\bNodeError\b|\bquarantin", re.IGNORECASE)


def _schemas(schema, path):
    """Every (path, sub-schema) of a JSON Schema that is an object."""
    if isinstance(schema, dict):
        yield path, schema
        for key, value in schema.items():
            if key in ("properties", "$defs"):
                for name, sub in value.items():
                    yield from _schemas(sub, f"{path}.{name}")
            elif key in ("items", "additionalProperties"):
                yield from _schemas(value, f"{path}[]")
            elif key in ("anyOf", "oneOf", "allOf"):
                for index, sub in enumerate(value):
                    yield from _schemas(sub, f"{path}|{index}")


def _resolve(root, prop):
    if "$ref" in prop:  # pydantic leaves the title on the model it refers to
        return {**root["$defs"][prop["$ref"].rsplit("/", 1)[-1]], **prop}
    return prop


def _problems(schema, path):
    found = []
    for where, sub in _schemas(schema, path):
        title, description = sub.get("title"), sub.get("description")
        if isinstance(title, str) and CLASS_NAME.match(title):
            found.append(f"{where}: title {title!r} is a class name")
        if isinstance(description, str) and ("\n" in description
                                              or DEVELOPER_WORDS.search(description)):
            found.append(f"{where}: description reads like a docstring: {description[:60]!r}")
        for name, prop in (sub.get("properties") or {}).items():
            prop = _resolve(schema, prop)
            if not prop.get("title"):
                found.append(f"{where}.{name}: no title")
            if not prop.get("description"):
                found.append(f"{where}.{name}: no help for builders")
    return found


# test.* types exist only in the test settings, for engine tests; builders never see them.
@pytest.mark.parametrize("node_type", [t for t in registry if not t.type.startswith("test.")],
                         ids=lambda t: t.type)
def test_every_form_speaks_to_builders(node_type):
    assert _problems(node_type.config_schema(), node_type.type) == []


def test_the_check_catches_class_names_and_docstrings():
    bad = {"title": "SwitchConfig", "$defs": {"SetField": {"title": "SetField",
                                                             "description": "Base of every\n"
                                                                            "node type's model."}},
           "properties": {"x": {"title": "X"}}}
    found = _problems(bad, "t")
    assert any("'SwitchConfig' is a class name" in f for f in found)
    assert any("t.SetField: title 'SetField'" in f for f in found)
    assert any("reads like a docstring" in f for f in found)
    assert any("t.x: no help" in f for f in found)


def test_the_failure_policy_section_reads_as_a_person_would_say_it():
    schema = registry.get("http.request").config_schema()
    policy = schema["$defs"]["ExecutionPolicy"]
    assert policy["title"] == "Failure policy"
    assert "retry" in policy["description"].lower() or "try again" in policy["description"].lower()
    assert _resolve(schema, schema["properties"]["policy"])["title"] == "When this step fails"
    assert policy["properties"]["on_error"]["x-weft-enum-labels"][1] == \
        "Continue on the 'On error' port"


def test_the_form_shows_the_failure_policy_each_type_runs_with():
    # The form fills a node saved without a policy from the schema: it must say what the
    # engine does then (an HTTP request retries twice), not the shared policy's defaults.
    # The group is folded away in the form, its heading saying what it is set to.
    typed = [t for t in registry if "policy" in t.Config.model_fields]
    assert {"http.request", "inference.triton", "data.set"} <= {t.type for t in typed}
    for node_type in typed:
        schema = node_type.config_schema()
        runs_with = node_type.Config.model_fields["policy"].get_default(
            call_default_factory=True).model_dump(mode="json")
        assert schema["properties"]["policy"]["default"] == runs_with, node_type.type
        assert schema["$defs"]["ExecutionPolicy"]["x-weft-collapsed"] is True
    assert registry.get("http.request").config_schema()["properties"]["policy"][
        "default"]["retries"] == 2


def _labels(root, schema, seen):
    """Titles of the fields one form shows at once (nested sections included, list items
    not: each item is its own group)."""
    for prop in (schema.get("properties") or {}).values():
        prop = _resolve(root, prop)
        seen.append(prop.get("title"))
        if prop.get("properties"):
            _labels(root, prop, seen)
    return seen


@pytest.mark.parametrize("node_type", [t for t in registry if not t.type.startswith("test.")],
                         ids=lambda t: t.type)
def test_no_two_fields_of_a_form_share_a_label(node_type):
    # The HTTP request's own timeout and its failure policy's both read "Timeout (s)".
    schema = node_type.config_schema()
    labels = _labels(schema, schema, [])
    assert sorted({x for x in labels if labels.count(x) > 1}) == []
