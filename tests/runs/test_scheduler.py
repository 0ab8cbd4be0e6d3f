"""The scheduler with plain data: no Django, no database."""

from apps.runs.scheduler import (
    FAILED,
    SKIPPED,
    SUCCEEDED,
    NodeState,
    PortSpec,
    compile_graph,
    is_finished,
    plan,
)

TYPES = {
    "trigger": ((), True),
    "step": ((PortSpec("in"),), False),
    "merge": ((PortSpec("in", multiple=True),), False),
    "pair": ((PortSpec("a"), PortSpec("b", required=False)), False),
}


def graph(nodes, edges, config=None):
    config = config or {}
    doc = {"nodes": [{"id": n, "type": t, "config": config.get(n, {})} for n, t in nodes],
           "edges": [{"source": s, "source_port": sp, "target": d, "target_port": dp}
                     for s, sp, d, dp in edges]}
    return compile_graph(doc, lambda type_name, version: TYPES[type_name])


def ok(**ports):
    return NodeState(SUCCEEDED, ports)


LINE = graph([("t", "trigger"), ("a", "step"), ("b", "step")],
             [("t", "out", "a", "in"), ("a", "out", "b", "in")])


def test_the_trigger_is_ready_first():
    assert plan(LINE, {}).ready == {"t": {}}


def test_a_node_is_ready_when_its_input_arrived():
    result = plan(LINE, {"t": ok(out={"x": 1})})
    assert result.ready == {"a": {"in": {"x": 1}}}
    assert result.skip == []


def test_nothing_is_ready_while_a_predecessor_runs():
    result = plan(LINE, {"t": ok(out=1), "a": NodeState("running")})
    assert result.ready == {}
    assert result.skip == []


BRANCH = graph([("t", "trigger"), ("if", "step"), ("yes", "step"), ("no", "step"),
                ("after_no", "step")],
               [("t", "out", "if", "in"), ("if", "true", "yes", "in"),
                ("if", "false", "no", "in"), ("no", "out", "after_no", "in")])


def test_a_branch_not_taken_is_skipped_and_the_skip_propagates():
    states = {"t": ok(out=1), "if": ok(true=1)}
    result = plan(BRANCH, states)
    assert result.ready == {"yes": {"in": 1}}
    assert result.skip == ["no", "after_no"]


def test_a_failed_node_kills_its_branch():
    result = plan(LINE, {"t": ok(out=1), "a": NodeState(FAILED)})
    assert result.skip == ["b"]


JOIN = graph([("t", "trigger"), ("if", "step"), ("x", "step"), ("y", "step"),
              ("m", "merge")],
             [("t", "out", "if", "in"), ("if", "true", "x", "in"), ("if", "false", "y", "in"),
              ("t", "out", "m", "in"), ("x", "out", "m", "in"), ("y", "out", "m", "in")])


def test_join_all_waits_for_every_edge_and_gathers_live_values_in_edge_order():
    states = {"t": ok(out="T"), "if": ok(true=1), "x": NodeState("running")}
    result = plan(JOIN, states)
    assert "m" not in result.ready
    assert result.skip == ["y"]
    states.update(x=ok(out="X"), y=NodeState(SKIPPED))
    assert plan(JOIN, states).ready == {"m": {"in": ["T", "X"]}}


def test_join_first_runs_as_soon_as_one_edge_is_live():
    first = graph([("t", "trigger"), ("a", "step"), ("b", "step"), ("m", "merge")],
                  [("t", "out", "a", "in"), ("t", "out", "b", "in"),
                   ("a", "out", "m", "in"), ("b", "out", "m", "in")],
                  config={"m": {"join": "first"}})
    states = {"t": ok(out=0), "a": ok(out="A"), "b": NodeState("running")}
    assert plan(first, states).ready == {"m": {"in": ["A"]}}


def test_a_merge_whose_inputs_all_died_is_skipped():
    states = {"t": NodeState(SUCCEEDED, {}), "if": NodeState(SKIPPED),
              "x": NodeState(SKIPPED), "y": NodeState(SKIPPED)}
    assert "m" in plan(JOIN, states).skip


def test_an_optional_dead_port_is_left_out_but_a_required_dead_port_skips():
    g = graph([("t", "trigger"), ("if", "step"), ("p", "pair")],
              [("t", "out", "if", "in"), ("if", "true", "p", "a"), ("if", "false", "p", "b")])
    assert plan(g, {"t": ok(out=1), "if": ok(true="A")}).ready == {"p": {"a": "A"}}
    assert plan(g, {"t": ok(out=1), "if": ok(false="B")}).skip == ["p"]


def test_a_node_without_inputs_that_is_not_the_trigger_is_skipped():
    g = graph([("t", "trigger"), ("lonely", "step")], [])
    result = plan(g, {})
    assert result.ready == {"t": {}}
    assert result.skip == ["lonely"]


def test_finished_when_every_node_is_terminal():
    assert not is_finished(LINE, {"t": ok(out=1), "a": ok(out=1)})
    assert is_finished(LINE, {"t": ok(out=1), "a": ok(out=1), "b": NodeState(SKIPPED)})
