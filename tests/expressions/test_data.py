"""`expression_data`: the one definition of what an expression sees in a node."""

from apps.expressions.services import expression_data
from apps.nodes.base import NodeContext


def _context(inputs, ports=None):
    return NodeContext(run_id="r1", node_id="n", attempt=1, inputs=inputs,
                       run={"id": "r1", "input": {"order": 7}}, nodes={"a": {"output": 1}},
                       vars={"v": 2}, input_ports=ports)


def test_input_is_the_value_on_the_single_input_port():
    data = expression_data(_context({"in": {"x": 1}}, ("in",)))
    assert data == {"input": {"x": 1}, "run": {"id": "r1", "input": {"order": 7}},
                    "nodes": {"a": {"output": 1}}, "vars": {"v": 2}}


def test_several_input_ports_give_an_object_by_port_name_even_when_one_is_empty():
    data = expression_data(_context({"left": 1}, ("left", "right")))
    assert data["input"] == {"left": 1, "right": None}


def test_a_node_without_input_ports_sees_null_and_extras_are_added():
    data = expression_data(_context({}, ()), item=3)
    assert data["input"] is None
    assert data["item"] == 3
    assert data["run"]["input"] == {"order": 7}
