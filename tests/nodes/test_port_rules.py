"""Ports that follow the configuration: one rule, evaluated alike by the server
(apps/nodes/ports.py) and the editor (frontend/src/core/portRules.ts), served by the
registry and used by the validator and the engine."""

import json
from pathlib import Path

import pytest

from apps.nodes.base import ERROR_PORT
from apps.nodes.ports import evaluate_port_rule
from apps.nodes.registry import registry
from apps.workflows.graph import ERROR, WARNING, validate_graph

CASES = json.loads((Path(__file__).resolve().parents[2] / "frontend" / "src" / "core"
                    / "portRules.cases.json").read_text())["cases"]
POLICY_TYPES = ("http.request", "inference.triton", "flow.subworkflow", "flow.map",
                "data.set", "data.filter", "data.aggregate", "control.if", "control.switch",
                "data.merge", "control.wait_until", "audit.record", "data.pseudonymise",
                "privacy.erase", "human.approval", "flow.respond")


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_rule_gives_the_ports_the_shared_fixture_expects(case):
    assert evaluate_port_rule(case["rule"], case["config"]) == case["ports"]


@pytest.mark.parametrize("case", [c for c in CASES if c["type"]], ids=lambda c: c["name"])
def test_the_fixture_holds_the_rules_the_registry_serves(case):
    # So the front end's test runs the very rule the server serves, not a copy gone stale.
    assert registry.get(case["type"]).port_rules()["outputs"] == case["rule"]


def test_a_switch_has_one_port_per_case_and_default():
    switch = registry.get("control.switch")
    config = switch.Config.model_validate(
        {"cases": [{"label": "Urgent", "condition": "true"}, {"condition": "false"}]})
    assert [(p.name, p.label) for p in switch.output_ports(config)] == [
        ("case1", "Urgent"), ("case2", "Case 2"), ("default", "Default")]
    assert [p.name for p in switch.output_ports(switch.Config())] == ["default"]
    # Without a config: every port any config can give (what the engine may fire).
    assert len(switch.output_ports()) == 12  # with the error port of its failure policy


@pytest.mark.parametrize("type_name", POLICY_TYPES)
def test_every_type_that_can_fail_draws_the_same_error_port_only_when_its_policy_says(type_name):
    node_type = registry.get(type_name)
    rule = node_type.port_rules()["outputs"]
    error = [entry for entry in rule if entry["name"] == ERROR_PORT]
    assert error == [{"name": ERROR_PORT, "label": "On error", "required": False,
                      "multiple": False, "when": {"field": "policy.on_error",
                                                  "equals": "error_port", "default": "fail"}}]
    assert ERROR_PORT not in node_type.output_names({"policy": {"on_error": "fail"}})
    assert ERROR_PORT not in node_type.output_names({})
    assert ERROR_PORT in node_type.output_names({"policy": {"on_error": "error_port"}})


def test_node_types_serve_their_port_rules(editor_client):
    response = editor_client.get("/api/node-types/")
    assert response.status_code == 200
    by_type = {t["type"]: t for t in response.data}
    assert by_type["control.switch"]["ports"]["outputs"][0]["from"] == "cases"
    assert by_type["core.noop"]["ports"] == {
        "inputs": [{"name": "in", "label": "in", "required": True, "multiple": False}],
        "outputs": [{"name": "out", "label": "out", "required": True, "multiple": False}]}


def _switch_graph(cases, port, *, name="Route by priority"):
    return {
        "nodes": [
            {"id": "start", "type": "trigger.manual", "version": 1, "name": "Start",
             "config": {}, "position": {"x": 0, "y": 0}},
            {"id": "sw_x1", "type": "control.switch", "version": 1, "name": name,
             "config": {"cases": [{"label": f"c{n}", "condition": "true"}
                                  for n in range(cases)]}, "position": {"x": 200, "y": 0}},
            {"id": "end", "type": "core.noop", "version": 1, "name": "Done", "config": {},
             "position": {"x": 400, "y": 0}},
        ],
        "edges": [
            {"id": "e1", "source": "start", "source_port": "out", "target": "sw_x1",
             "target_port": "in"},
            {"id": "e2", "source": "sw_x1", "source_port": port, "target": "end",
             "target_port": "in"},
        ],
        "notes": [],
    }


def test_a_switch_edge_from_an_existing_case_stays_valid():
    assert validate_graph(_switch_graph(3, "case3"), registry) == []


def test_a_switch_edge_from_a_case_the_config_lacks_is_a_warning_naming_edge_and_port():
    problems = validate_graph(_switch_graph(3, "case5"), registry)
    assert [(p.code, p.severity, p.edge_id, p.node_id, p.field) for p in problems] == [
        ("port_not_in_config", WARNING, "e2", "sw_x1", "source_port")]
    assert "'case5'" in problems[0].message
    assert "'Route by priority'" in problems[0].message
    assert "sw_x1" not in problems[0].message


def test_a_port_no_config_can_give_is_an_error():
    problems = validate_graph(_switch_graph(3, "case11"), registry)
    unknown = [p for p in problems if p.code == "unknown_port"]
    assert [(p.severity, p.edge_id) for p in unknown] == [(ERROR, "e2")]
    assert "'case11'" in unknown[0].message


def _http_graph(on_error):
    return {
        "nodes": [
            {"id": "start", "type": "trigger.manual", "version": 1, "name": "Start",
             "config": {}, "position": {"x": 0, "y": 0}},
            {"id": "http_q7", "type": "http.request", "version": 2, "name": "Fetch order",
             "config": {"url": "https://api.example.com/",
                        "policy": {"on_error": on_error}}, "position": {"x": 200, "y": 0}},
            {"id": "oops", "type": "core.noop", "version": 1, "name": "Tell someone",
             "config": {}, "position": {"x": 400, "y": 0}},
        ],
        "edges": [
            {"id": "e1", "source": "start", "source_port": "out", "target": "http_q7",
             "target_port": "in"},
            {"id": "e2", "source": "http_q7", "source_port": "error", "target": "oops",
             "target_port": "in"},
        ],
        "notes": [],
    }


def test_an_error_edge_follows_the_failure_policy():
    assert validate_graph(_http_graph("error_port"), registry) == []
    # Graphs saved before the port followed the policy keep validating: a warning that
    # says how to make the edge fire.
    problems = validate_graph(_http_graph("fail"), registry)
    assert [(p.code, p.severity, p.edge_id, p.field) for p in problems] == [
        ("port_not_in_config", WARNING, "e2", "source_port")]
    assert "When this step fails" in problems[0].message
    assert "'Fetch order'" in problems[0].message


def test_problems_name_nodes_by_their_names_and_appear_once():
    graph = _switch_graph(1, "case1", name="Pick a team")
    graph["nodes"][1]["config"]["cases"][0]["condition"] = "input.x ==== 1"
    graph["nodes"].append(dict(graph["nodes"][2], id="lost_k2", name="Lost step"))
    problems = validate_graph(graph, registry)
    by_node = {p.node_id: p for p in problems}
    assert "'Pick a team'" in by_node["sw_x1"].message
    assert "sw_x1" not in by_node["sw_x1"].message
    assert "'Lost step'" in by_node["lost_k2"].message
    assert "'Start'" in by_node["lost_k2"].message  # the trigger, named too
    assert len(problems) == len(set(problems))
