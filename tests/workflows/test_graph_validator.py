"""The graph validator, with plain data and a registry of its own (no database)."""

import pytest
from pydantic import Field

from apps.nodes.base import NodeConfig, NodeType, Port
from apps.nodes.registry import NodeTypeRegistry, RegistryFrozen
from apps.workflows.graph import ERROR, MAX_NODES, WARNING, validate_graph

registry = NodeTypeRegistry()


@registry.register
class Start(NodeType):
    type = "t.start"
    is_trigger = True
    inputs = ()


class GreetConfig(NodeConfig):
    greeting: str = Field(min_length=1)
    times: int = Field(default=1, ge=1, le=10)


@registry.register
class Greet(NodeType):
    type = "t.greet"
    Config = GreetConfig


@registry.register
class Join(NodeType):
    type = "t.join"
    inputs = (Port("in", multiple=True), Port("extra", required=False))
    outputs = (Port("out"), Port("error"))


registry.freeze()


def node(node_id, type_name="t.join", **extra):
    return {"id": node_id, "type": type_name, "version": 1, "name": node_id,
            "config": extra.pop("config", {}), "position": {"x": 0, "y": 0}, **extra}


def edge(edge_id, source, target, source_port="out", target_port="in"):
    return {"id": edge_id, "source": source, "source_port": source_port, "target": target,
            "target_port": target_port}


def check(graph):
    return validate_graph(graph, registry)


def codes(problems, severity=ERROR):
    return {(p.code, p.node_id, p.edge_id) for p in problems if p.severity == severity}


def valid_graph():
    return {
        "nodes": [node("s", "t.start"), node("g", "t.greet", config={"greeting": "hi"}),
                  node("j")],
        "edges": [edge("e1", "s", "g"), edge("e2", "g", "j"), edge("e3", "s", "j")],
    }


def test_a_valid_graph_has_no_problems():
    assert check(valid_graph()) == []


def test_unknown_node_type_and_unknown_version_name_the_node():
    graph = valid_graph()
    graph["nodes"].append(node("x", "t.nope"))
    graph["nodes"].append(node("y", "t.greet", version=7, config={"greeting": "a"}))
    graph["nodes"][-1]["version"] = 7
    problems = check(graph)
    assert ("unknown_node_type", "x", None) in codes(problems)
    (version_problem,) = [p for p in problems if p.node_id == "y" and p.severity == ERROR]
    assert version_problem.code == "unknown_node_type"
    assert "version 7 does not exist" in version_problem.message


def test_config_that_breaks_the_schema_names_node_and_field():
    graph = valid_graph()
    graph["nodes"][1]["config"] = {"greeting": "", "times": 99, "colour": "red"}
    problems = [p for p in check(graph) if p.code == "invalid_config"]
    assert {p.node_id for p in problems} == {"g"}
    assert {p.field for p in problems} == {"config.greeting", "config.times", "config.colour"}


def test_edges_to_missing_nodes_and_ports():
    graph = valid_graph()
    graph["edges"] += [edge("bad-node", "s", "ghost"), edge("bad-port", "g", "j",
                                                            source_port="nope"),
                       edge("bad-in", "s", "j", target_port="missing")]
    found = codes(check(graph))
    assert ("dangling_edge", None, "bad-node") in found
    assert ("unknown_port", None, "bad-port") in found
    assert ("unknown_port", None, "bad-in") in found


def test_duplicate_ids_are_reported():
    graph = valid_graph()
    graph["nodes"].append(node("g", "t.join"))
    graph["edges"].append(edge("e1", "s", "j"))
    found = codes(check(graph))
    assert ("duplicate_node_id", "g", None) in found
    assert ("duplicate_edge_id", None, "e1") in found


def test_cycles_name_every_node_in_them():
    graph = {
        "nodes": [node("s", "t.start"), node("a"), node("b"), node("c")],
        "edges": [edge("e1", "s", "a"), edge("e2", "a", "b"), edge("e3", "b", "c"),
                  edge("e4", "c", "a")],
    }
    cycle_nodes = {p.node_id for p in check(graph) if p.code == "cycle"}
    assert cycle_nodes == {"a", "b", "c"}


def test_self_loop_is_a_cycle_on_that_edge():
    graph = valid_graph()
    graph["edges"].append(edge("loop", "j", "j"))
    assert ("cycle", "j", "loop") in codes(check(graph))


def test_missing_trigger_and_second_trigger():
    no_trigger = {"nodes": [node("a")], "edges": []}
    assert "no_trigger" in {p.code for p in check(no_trigger)}
    two = valid_graph()
    two["nodes"].append(node("s2", "t.start"))
    assert ("multiple_triggers", "s2", None) in codes(check(two))


def test_unreachable_nodes_are_warnings_not_errors():
    graph = valid_graph()
    graph["nodes"].append(node("island", "t.join", ))
    graph["nodes"].append(node("island2", "t.join"))
    graph["edges"].append(edge("e9", "island", "island2"))
    problems = check(graph)
    warnings = codes(problems, WARNING)
    assert ("unreachable", "island", None) in warnings
    assert ("unreachable", "island2", None) in warnings
    # island's required input is not connected: that one is an error
    assert ("missing_input", "island", None) in codes(problems)


def test_single_input_port_refuses_a_second_edge():
    graph = valid_graph()
    graph["edges"].append(edge("e4", "j", "g"))  # g.in already fed by e1; also makes a cycle
    found = codes(check(graph))
    assert ("too_many_inputs", "g", "e4") in found


def test_multiple_input_port_accepts_several_edges():
    graph = valid_graph()  # j.in is fed by e2 and e3
    assert not [p for p in check(graph) if p.node_id == "j"]


def test_malformed_documents():
    assert [p.code for p in check([])] == ["invalid_document"]
    assert [p.code for p in check({"nodes": {}, "edges": []})] == ["invalid_document"]
    problems = check({"nodes": [{"type": "t.start"}], "edges": [], "extra": 1})
    assert {p.code for p in problems} >= {"unknown_field", "invalid_node"}
    bad_position = valid_graph()
    bad_position["nodes"][0]["position"] = {"x": "left"}
    assert ("invalid_node", "s", None) in codes(check(bad_position))


def test_oversize_graph_is_refused_early():
    graph = {"nodes": [node(f"n{i}") for i in range(MAX_NODES + 1)], "edges": []}
    problems = check(graph)
    assert [p.code for p in problems] == ["too_large"]
    assert problems[0].field == "nodes"


def test_registry_is_frozen_after_start_up():
    class Late(NodeType):
        type = "t.late"

    with pytest.raises(RegistryFrozen):
        registry.register(Late)


def test_registering_the_same_type_and_version_twice_fails():
    local = NodeTypeRegistry()
    local.register(Start)
    with pytest.raises(ValueError, match="registered twice"):
        local.register(Start)
