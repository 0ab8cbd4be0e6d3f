"""apps.runs.refs: escaping is lossless, and escaped data never holds the marker."""

import json

import pytest

from apps.core.inbound import JsonProblem
from apps.runs import refs

CASES = [
    {"$weft_ref": {"node_run": 1, "field": "outputs", "port": "out"}},
    {"$$weft_ref": 1, "$weft_ref": 2, "$$$weft_x": [{"$weft_y": None}]},
    [{"a": {"$weft_ref": {"map": 3, "count": 2}}}, "$weft_ref", {"weft_ref": 1}],
    {"$": 1, "$weft": 2, "x$weft_y": 3, "$weft_": {"$weft_": {}}},
    "plain", 3, None, [], {},
]


def _keys(value):
    if isinstance(value, dict):
        for key, child in value.items():
            yield key
            yield from _keys(child)
    elif isinstance(value, list):
        for child in value:
            yield from _keys(child)


@pytest.mark.parametrize("value", CASES)
def test_escaping_is_lossless_and_leaves_no_marker(value):
    stored = refs.admit(value, root="input")
    assert refs.unescape(stored) == value
    assert refs.REF_KEY not in set(_keys(stored))
    assert not refs.is_ref(stored)
    assert json.loads(json.dumps(stored)) == stored


def test_unescaping_leaves_the_engines_own_references():
    ref = refs.map_ref(7, 1200)
    stored = {"out": ref, "data": refs.admit({"$weft_ref": 1}, root="x")}
    assert refs.unescape(stored) == {"out": ref, "data": {"$weft_ref": 1}}
    assert refs.map_ref_count(refs.unescape(stored)["out"]) == 1200


def test_data_without_the_marker_is_passed_through_as_is():
    value = {"a": [{"b": "text about $weft_ref", "weft_": 1}]}
    assert refs.admit(value, root="x") is value
    assert refs.unescape(value) is value


def _nested(levels):
    value = []
    for _ in range(levels - 1):
        value = [value]
    return value


@pytest.mark.parametrize(("value", "path"), [
    ({"a": ["x\x00"]}, "input.a[0]"),
    ({"a\ud800": 1}, 'input["a\\ud800"]'),
    ({"n": float("nan")}, "input.n"),
    ({"t": object()}, "input.t"),
    ({"x": {"y": {1, 2}}}, "input.x.y"),
    ({"deep": _nested(64)}, "input.deep" + "[0]" * 63),
])
def test_what_cannot_be_stored_is_named_by_its_path(value, path):
    with pytest.raises(JsonProblem) as problem:
        refs.admit(value, root="input")
    assert problem.value.path == path


def test_as_deep_as_allowed_is_kept():
    assert refs.admit({"deep": _nested(63)}, root="input") == {"deep": _nested(63)}
