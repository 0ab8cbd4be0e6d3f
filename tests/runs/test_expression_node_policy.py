"""Expression nodes follow the same failure policy as network nodes: an expression that
fails on the run's data (an integer times a decimal, a missing field) stops the run, or
continues on the `error` port, or gives the default output, as the node's policy says;
stored graphs from before the policy keep running (version 1 is upgraded)."""

from __future__ import annotations

import pytest

from apps.nodes.registry import registry
from apps.runs import services
from tests.fixtures.runs import flow, node_row

pytestmark = pytest.mark.django_db

FAILING = "input.amount * 0.9"  # fails on an integer amount


def _set_flow(policy=None, *, wired=True):
    config = {"fields": [{"name": "discounted", "value": FAILING}]}
    if policy is not None:
        config["policy"] = policy
    nodes = [("start", "trigger.manual"), ("price", "data.set", config),
             ("after", "core.noop")]
    edges = [("start", "price"), ("price", "after")]
    if wired:
        nodes.append(("handled", "core.noop"))
        edges.append(("price", "error", "handled", "in"))
    return flow(*nodes, edges=edges)


@pytest.mark.parametrize("type_name", ["data.set", "data.filter", "data.aggregate",
                                       "control.if", "control.switch"])
def test_every_expression_node_offers_the_error_port_only_when_its_policy_says_so(type_name):
    node_type = registry.get(type_name)
    assert "error" not in {p.name for p in node_type.output_ports({})}
    ports = node_type.output_ports({"policy": {"on_error": "error_port"}})
    assert ("error", "On error") in {(p.name, p.label) for p in ports}


def test_a_failing_expression_continues_on_the_error_port(publish):
    run = services.run_start(workflow=publish(_set_flow({"on_error": "error_port"})),
                             input={"amount": 120})
    run.refresh_from_db()
    assert run.status == "succeeded"
    assert node_row(run, "handled").status == "succeeded"
    assert node_row(run, "after").status == "skipped"
    error = node_row(run, "handled").inputs["in"]
    assert "No operator '*' for (int, double)" in str(error)


def test_a_failing_expression_gives_the_default_output(publish):
    run = services.run_start(workflow=publish(_set_flow(
        {"on_error": "default_output", "default_output": {"discounted": 0}}, wired=False)),
        input={"amount": 120})
    run.refresh_from_db()
    assert run.status == "succeeded"
    assert node_row(run, "after").inputs["in"] == {"discounted": 0}


def test_by_default_it_stops_the_run_as_before_and_old_graphs_still_run(publish):
    graph = _set_flow(wired=False)
    graph["nodes"][1]["version"] = 1  # stored before the policy existed
    run = services.run_start(workflow=publish(graph), input={"amount": 120})
    run.refresh_from_db()
    assert run.status == "failed"
    assert "No operator '*'" in node_row(run, "price").error["message"]
    ok = services.run_start(workflow=publish(graph), input={"amount": 12.5})
    ok.refresh_from_db()
    assert ok.status == "succeeded"
