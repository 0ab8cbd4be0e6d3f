"""docs/nodes.md is what the node-type registry gives (regenerate it with
`python manage.py weft_node_reference`), and every example in it is a valid config."""

from __future__ import annotations

import pytest

from apps.nodes.reference import (
    REFERENCE_PATH,
    documented_types,
    node_examples,
    node_reference_markdown,
)
from apps.nodes.registry import registry


def test_the_node_reference_is_up_to_date():
    assert REFERENCE_PATH.read_text() == node_reference_markdown(), (
        "docs/nodes.md is stale: run `python manage.py weft_node_reference` (make docs)")


def test_every_documented_type_has_an_example():
    assert {t.type for t in documented_types()} <= set(node_examples())


@pytest.mark.parametrize("type_name", sorted(node_examples()))
def test_every_example_is_a_valid_config(type_name):
    node_type = registry.get(type_name)
    assert node_type is not None, f"{type_name} is not a registered node type"
    config = node_type.Config.model_validate(node_examples()[type_name])
    assert node_type().check(config) == []
