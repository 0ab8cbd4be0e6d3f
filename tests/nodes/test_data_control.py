"""Every data and control node with a plain NodeContext: no engine, no database."""

from datetime import UTC, datetime, timedelta

import pytest

from apps.nodes.base import NodeContext, NodeError, Outputs, Wait
from apps.nodes.registry import registry

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def run(type_name, config, inputs=None, **context):
    node_type = registry.get(type_name)
    parsed = node_type.Config.model_validate(config)
    assert node_type().check(parsed) == []
    ctx = NodeContext(run_id="run-1", node_id="n1", attempt=1,
                      inputs={"in": inputs} if inputs is not None else {},
                      services={"now": lambda: NOW}, **context)
    return node_type().execute(ctx, parsed)


ORDERS = [{"id": 1, "country": "FR", "total": 10}, {"id": 2, "country": "DE", "total": 30},
          {"id": 3, "country": "FR", "total": 20}]


def test_set_builds_fields_and_can_keep_the_input():
    config = {"fields": [{"name": "full", "value": "input.first + ' ' + input.last"},
                         {"name": "meta.run", "value": "run.id"},
                         {"name": "limit", "value": "vars.limit * 2"}]}
    out = run("data.set", config, {"first": "Ann", "last": "Lee"}, run={"id": "r9"},
              vars={"limit": 5})
    assert out.ports == {"out": {"full": "Ann Lee", "meta": {"run": "r9"}, "limit": 10}}
    kept = run("data.set", {**config, "keep_input": True}, {"first": "Ann", "last": "Lee"},
               run={"id": "r9"}, vars={"limit": 5})
    assert kept.ports["out"]["first"] == "Ann"
    assert kept.ports["out"]["full"] == "Ann Lee"


def test_set_reports_a_failing_field():
    with pytest.raises(NodeError) as exc:
        run("data.set", {"fields": [{"name": "x", "value": "input.nope"}]}, {})
    assert exc.value.type == "expression"
    assert "fields[0].value" in exc.value.message
    assert exc.value.retryable is False


def test_filter_keeps_and_rejects():
    out = run("data.filter", {"condition": "item.total >= 20 && index > 0"}, ORDERS)
    assert [o["id"] for o in out.ports["out"]] == [2, 3]
    assert [o["id"] for o in out.ports["rejected"]] == [1]
    from_nodes = run("data.filter", {"items": "nodes.load.output.rows",
                                     "condition": "item.country == 'FR'"}, None,
                     nodes={"load": {"output": {"rows": ORDERS}}})
    assert len(from_nodes.ports["out"]) == 2
    with pytest.raises(NodeError, match="true or false"):
        run("data.filter", {"condition": "item.total"}, ORDERS)


def test_filter_over_many_items_is_linear():
    items = [{"n": i} for i in range(20_000)]
    out = run("data.filter", {"condition": "item.n % 2 == 0"}, items)
    assert len(out.ports["out"]) == 10_000


def test_merge_combines_and_documents_join_mode():
    assert registry.get("data.merge").inputs[0].multiple is True
    assert run("data.merge", {}, [{"a": 1}, {"b": 2}]).ports == {"out": [{"a": 1}, {"b": 2}]}
    assert run("data.merge", {"combine": "object"}, [{"a": 1}, {"a": 3, "b": 2}]).ports == {
        "out": {"a": 3, "b": 2}}
    assert run("data.merge", {"combine": "concat"}, [[1, 2], [3], 4]).ports == {
        "out": [1, 2, 3, 4]}
    assert run("data.merge", {"join": "first"}, [{"a": 1}]).ports == {"out": [{"a": 1}]}
    schema = registry.get("data.merge").config_schema()["properties"]["join"]
    assert schema["enum"] == ["all", "first"]


@pytest.mark.parametrize(("operation", "expected"), [
    ("count", 3), ("sum", 60), ("avg", 20), ("min", 10), ("max", 30)])
def test_aggregate(operation, expected):
    value = "" if operation == "count" else "item.total"
    out = run("data.aggregate", {"operation": operation, "value": value}, ORDERS)
    assert out.ports["out"] == {"value": expected, "count": 3}


def test_aggregate_groups_by_a_key():
    out = run("data.aggregate", {"operation": "sum", "value": "item.total",
                                 "group_by": "item.country"}, ORDERS)
    assert out.ports["out"]["groups"] == [{"key": "FR", "value": 30, "count": 2},
                                          {"key": "DE", "value": 30, "count": 1}]
    node = registry.get("data.aggregate")
    assert node().check(node.Config(operation="sum")) != []


def test_if_fires_only_the_taken_port():
    assert run("control.if", {"condition": "input.score >= vars.t"}, {"score": 0.9},
               vars={"t": 0.8}).ports == {"true": {"score": 0.9}}
    assert run("control.if", {"condition": "input.score >= 0.8"}, {"score": 0.1}).ports == {
        "false": {"score": 0.1}}
    with pytest.raises(NodeError, match="true or false"):
        run("control.if", {"condition": "input.score"}, {"score": 1})


def test_switch_takes_the_first_true_case_or_default():
    node = registry.get("control.switch")
    assert node.output_names() == {f"case{n}" for n in range(1, 11)} | {"default", "error"}
    config = {"cases": [{"condition": "input.total > 100"}, {"condition": "input.total > 10"},
                        {"condition": "input.total > 1"}]}
    assert run("control.switch", config, {"total": 50}).ports == {"case2": {"total": 50}}
    assert run("control.switch", config, {"total": 0}).ports == {"default": {"total": 0}}
    with pytest.raises(ValueError):
        node.Config.model_validate({"cases": [{"condition": "true"}] * 11})


def test_delay_and_wait_until_return_timers():
    waited = run("control.delay", {"amount": 2, "unit": "hours"}, {"x": 1})
    assert isinstance(waited, Wait)
    assert waited.kind == "timer"
    assert waited.until == NOW + timedelta(hours=2)
    assert waited.payload == {"outputs": {"out": {"x": 1}}}
    later = run("control.wait_until", {"at": "{{ input.due }}"}, {"due": "2025-02-01T09:00:00Z"})
    assert isinstance(later, Wait)
    assert later.until == datetime(2025, 2, 1, 9, tzinfo=UTC)
    cel = run("control.wait_until",
              {"at": "{{ timestamp(input.due) + duration('1h') }}"}, {"due": "2025-02-01T09:00:00Z"})
    assert cel.until == datetime(2025, 2, 1, 10, tzinfo=UTC)
    past = run("control.wait_until", {"at": "2020-01-01T00:00:00Z"}, {"x": 1})
    assert isinstance(past, Outputs)
    assert past.ports == {"out": {"x": 1}}
    with pytest.raises(NodeError, match="ISO 8601"):
        run("control.wait_until", {"at": "{{ input.x }}"}, {"x": "soon"})


def test_stop_raises_a_templated_error():
    with pytest.raises(NodeError) as exc:
        run("control.stop", {"message": "Order {{ input.id }} is over the limit",
                             "error_type": "over_limit"}, {"id": 7})
    assert exc.value.type == "over_limit"
    assert exc.value.message == "Order 7 is over the limit"
    assert exc.value.retryable is False


def test_every_node_type_has_titled_fields():
    for type_name in ("data.set", "data.filter", "data.merge", "data.aggregate", "control.if",
                      "control.switch", "control.delay", "control.wait_until", "control.stop",
                      "http.request"):
        node = registry.get(type_name)
        for name, prop in node.config_schema().get("properties", {}).items():
            assert prop.get("title"), (type_name, name)
        pure = type_name not in ("http.request", "control.delay", "control.wait_until")
        assert node.pure is pure, type_name
