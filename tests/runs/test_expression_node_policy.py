"""Expression nodes follow the same failure policy as network nodes: an expression that
fails on the run's data (an integer times a decimal, a missing field) stops the run, or
continues on the `error` port, or gives the default output, as the node's policy says;
stored graphs from before the policy keep running (version 1 is upgraded). The runs go
through a real worker: a step that is not pure (test.sleep) hands the run to it, and the
worker runs the expression nodes after it."""

from __future__ import annotations

import time

import pytest

from apps.nodes.reference import node_examples
from apps.nodes.registry import registry
from apps.runs import services
from apps.runs.models import Run
from apps.workflows.graph import ERROR, validate_graph
from tests.fixtures.runs import WebhookFront, flow, node_row

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FAILING = "input.amount * 0.9"  # fails on an integer amount
EXPRESSION_TYPES = ["data.set", "data.filter", "data.aggregate", "control.if",
                    "control.switch"]
# The other types that can fail on the run's data, and what makes each fail:
# (type, config, run input, a node between the worker step and it, its ports, the port a
# default output leaves by, the error type).
FAILING_STEPS = [
    ("data.merge", {"combine": "object"}, {"count": 2}, "test.items", ("out",), "out",
     "invalid_input"),  # a list where objects are merged
    ("control.wait_until", {"at": "{{ input.due }}"}, {"due": "next week"}, None, ("out",),
     "out", "invalid_input"),
    ("audit.record", {"action": "deletion.completed",
                      "subject": "request {{ input.amount * 0.9 }}"}, {"amount": 120}, None,
     ("out",), "out", "expression"),
    ("privacy.erase", {"values": "input.email"}, {"email": "ab"}, None, ("out",), "out",
     "invalid_value"),  # too short to erase
    ("human.approval", {"title": "Invoice {{ input.amount * 0.9 }}", "assignee_users": ["ann"]},
     {"amount": 120}, None, ("approved", "rejected"), "rejected", "expression"),
]


def _finished(run, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status in ("succeeded", "failed", "cancelled"):
            return run
        time.sleep(0.2)
    raise AssertionError(f"run still {run.status}")


def _flow(step, *, ports=("out",), handled=True, feed=None):
    """start -> a step on the worker (-> a `feed` node) -> `step` -> one node per port
    (+ `handled` on error)."""
    nodes = [("start", "trigger.manual"), ("worker", "test.sleep", {"seconds": 0}), step]
    edges = [("start", "worker"), ("worker", step[0])]
    if feed:
        nodes.append(("feed", feed))
        edges[1:] = [("worker", "feed"), ("feed", step[0])]
    for port in ports:
        nodes.append((f"after_{port}", "core.noop"))
        edges.append((step[0], port, f"after_{port}", "in"))
    if handled:
        nodes.append(("handled", "core.noop"))
        edges.append((step[0], "error", "handled", "in"))
    return flow(*nodes, edges=edges)


def _set(policy=None):
    config = {"fields": [{"name": "discounted", "value": FAILING}]}
    if policy is not None:
        config["policy"] = policy
    return ("price", "data.set", config)


@pytest.mark.parametrize("type_name", EXPRESSION_TYPES + [t[0] for t in FAILING_STEPS]
                         + ["data.pseudonymise", "flow.respond"])
def test_every_expression_node_offers_the_error_port_only_when_its_policy_says_so(type_name):
    node_type = registry.get(type_name)
    assert "error" not in {p.name for p in node_type.output_ports({})}
    ports = node_type.output_ports({"policy": {"on_error": "error_port"}})
    assert ("error", "On error") in {(p.name, p.label) for p in ports}
    assert "When this step fails" in str(node_type.config_schema())


def test_a_failing_set_continues_on_the_error_port_with_the_error(
        celery_worker_process, publish):
    run = _finished(services.run_start(workflow=publish(_flow(_set({"on_error": "error_port"}))),
                                       input={"amount": 120}))
    assert run.status == "succeeded", run.error
    assert node_row(run, "after_out").status == "skipped"
    error = node_row(run, "handled").inputs["in"]
    assert error["type"] == "expression"
    assert "No operator '*' for (int, double)" in error["message"]
    assert error["input"] == {"amount": 120}  # what the step was given, to handle it


def test_a_failing_set_gives_the_default_output(celery_worker_process, publish):
    graph = _flow(_set({"on_error": "default_output", "default_output": {"discounted": 0}}),
                  handled=False)
    run = _finished(services.run_start(workflow=publish(graph), input={"amount": 120}))
    assert run.status == "succeeded", run.error
    assert node_row(run, "after_out").inputs["in"] == {"discounted": 0}


def test_by_default_a_failing_set_stops_the_run_and_a_good_one_does_not(
        celery_worker_process, publish):
    workflow = publish(_flow(_set(), handled=False))
    run = _finished(services.run_start(workflow=workflow, input={"amount": 120}))
    assert run.status == "failed"
    assert "No operator '*'" in node_row(run, "price").error["message"]
    ok = _finished(services.run_start(workflow=workflow, input={"amount": 12.5}))
    assert ok.status == "succeeded", ok.error
    assert node_row(ok, "after_out").inputs["in"] == {"discounted": 12.5 * 0.9}


@pytest.mark.parametrize(("policy", "taken"), [
    ({"on_error": "error_port"}, "handled"),
    ({"on_error": "default_output", "default_output": {"checked": False}}, "after_false"),
    (None, None),
])
def test_an_if_whose_condition_fails_follows_its_policy(celery_worker_process, publish,
                                                        policy, taken):
    config = {"condition": "input.amount * 0.9 > 100.0"}
    if policy:
        config["policy"] = policy
    graph = _flow(("check", "control.if", config), ports=("true", "false"),
                  handled=taken == "handled")
    run = _finished(services.run_start(workflow=publish(graph), input={"amount": 120}))
    if taken is None:  # the default: the run fails, as it did before the policy
        assert run.status == "failed"
        assert node_row(run, "check").error["type"] == "expression"
        return
    assert run.status == "succeeded", run.error
    # A condition that could not be read never sends the run down 'true'.
    assert node_row(run, "after_true").status == "skipped"
    assert node_row(run, taken).status == "succeeded"
    if policy["on_error"] == "default_output":
        assert node_row(run, "after_false").inputs["in"] == {"checked": False}


def test_a_switch_whose_case_fails_continues_on_its_error_port_or_by_default(
        celery_worker_process, publish):
    cases = [{"label": "Big", "condition": "input.amount * 0.9 > 100.0"}]
    on_error = _flow(("route", "control.switch", {
        "cases": cases, "policy": {"on_error": "error_port"}}), ports=("case1", "default"))
    run = _finished(services.run_start(workflow=publish(on_error), input={"amount": 120}))
    assert run.status == "succeeded", run.error
    assert [node_row(run, n).status for n in ("after_case1", "after_default", "handled")] == [
        "skipped", "skipped", "succeeded"]
    by_default = _flow(("route", "control.switch", {
        "cases": cases, "policy": {"on_error": "default_output", "default_output": "unsure"}}),
        ports=("case1", "default"), handled=False)
    run = _finished(services.run_start(workflow=publish(by_default), input={"amount": 120}))
    assert run.status == "succeeded", run.error
    assert node_row(run, "after_case1").status == "skipped"
    assert node_row(run, "after_default").inputs["in"] == "unsure"


@pytest.mark.parametrize(("type_name", "config", "data", "feed", "ports", "default_port",
                          "error_type"), FAILING_STEPS, ids=[t[0] for t in FAILING_STEPS])
def test_a_failing_step_continues_on_its_error_port_or_with_its_default_output(
        celery_worker_process, publish, create_user, type_name, config, data, feed, ports,
        default_port, error_type):
    from apps.approvals.models import Task

    create_user(username="ann", roles=["editor"])  # the approval's reviewer
    on_error = _flow(("step", type_name, {**config, "policy": {"on_error": "error_port"}}),
                     ports=ports, feed=feed)
    run = _finished(services.run_start(workflow=publish(on_error), input=data))
    assert run.status == "succeeded", run.error
    assert [node_row(run, f"after_{p}").status for p in ports] == ["skipped"] * len(ports)
    error = node_row(run, "handled").inputs["in"]
    assert error["type"] == error_type, error

    default = {"on_error": "default_output", "default_output": {"fallback": True}}
    by_default = _flow(("step", type_name, {**config, "policy": default}), ports=ports,
                       handled=False, feed=feed)
    run = _finished(services.run_start(workflow=publish(by_default), input=data))
    assert run.status == "succeeded", run.error
    assert node_row(run, f"after_{default_port}").inputs["in"] == {"fallback": True}
    # Any other branch is not taken: an approval that failed never continues as approved.
    assert [node_row(run, f"after_{p}").status for p in ports if p != default_port] == [
        "skipped"] * (len(ports) - 1)
    assert node_row(run, "step").error["type"] == error_type
    assert not Task.objects.exists()  # no approval task was made of a failed title


def test_a_stored_version_1_graph_still_runs_and_still_stops_the_run(
        celery_worker_process, publish):
    graph = _flow(_set(), handled=False)
    graph["nodes"][2]["version"] = 1  # stored before the policy existed
    workflow = publish(graph)
    assert workflow.versions.get().graph["nodes"][2]["version"] == 1
    run = _finished(services.run_start(workflow=workflow, input={"amount": 120}))
    assert run.status == "failed"
    assert "No operator '*'" in node_row(run, "price").error["message"]
    ok = _finished(services.run_start(workflow=workflow, input={"amount": 12.5}))
    assert ok.status == "succeeded", ok.error
    assert Run.objects.filter(workflow=workflow).count() == 2


# A `respond` webhook whose answer's body fails on the caller's data; its failure answer
# is configured, so that the tests tell it from the engine's default.
FAILURE = {"failure_status": 422, "failure_body": {"error": "rejected"}}


def _respond_flow(policy=None, *, fallback=False, handled=False):
    """webhook (respond) -> a step on the worker -> answer (its body fails on an integer
    amount) [-> on error: `fallback`, a Respond with a fixed body, or `handled`, a node
    that answers nothing]."""
    answer = {"status": 201, "body": "{'total': input.amount * 0.9}",
              "headers": {"X-Priced": "yes"}}
    if policy is not None:
        answer["policy"] = policy
    nodes = [("hook", "trigger.webhook", {"mode": "respond", **FAILURE}),
             ("worker", "test.sleep", {"seconds": 0}), ("answer", "flow.respond", answer)]
    edges = [("hook", "worker"), ("worker", "answer")]
    if fallback:
        nodes.append(("fallback", "flow.respond", {"status": 503,
                                                   "body": "{'error': 'pricing_unavailable'}"}))
        edges.append(("answer", "error", "fallback", "in"))
    if handled:
        nodes.append(("handled", "core.noop"))
        edges.append(("answer", "error", "handled", "in"))
    return flow(*nodes, edges=edges)


def _call(workflow, amount, front="asgi"):
    status, body, headers = WebhookFront(front).post(workflow, b'{"amount": %a}' % amount)
    return status, body, headers, _finished(Run.objects.get(pk=headers["x-weft-run-id"]))


@pytest.mark.parametrize("policy", [None, {"on_error": "fail"}], ids=["default", "fail"])
def test_a_respond_whose_body_fails_answers_the_webhooks_failure_answer(
        celery_worker_process, publish, policy):
    status, body, _, run = _call(publish(_respond_flow(policy)), 120)
    assert (status, body) == (422, {"error": "rejected", "run_id": str(run.pk)})
    assert run.status == "failed"
    assert node_row(run, "answer").error["type"] == "expression"


def test_a_respond_whose_body_fails_continues_on_its_error_port_to_another_answer(
        celery_worker_process, publish):
    workflow = publish(_respond_flow({"on_error": "error_port"}, fallback=True))
    status, body, _, run = _call(workflow, 120)
    assert (status, body) == (503, {"error": "pricing_unavailable"})
    assert run.status == "succeeded", run.error
    assert node_row(run, "answer").error["type"] == "expression"
    status, body, headers, _ = _call(workflow, 12.5)  # a body that works answers as before
    assert (status, body, headers["x-priced"]) == (201, {"total": 12.5 * 0.9}, "yes")


def test_a_respond_whose_body_fails_and_nothing_answers_after_gives_the_failure_answer(
        celery_worker_process, publish):
    workflow = publish(_respond_flow({"on_error": "error_port"}, handled=True))
    status, body, _, run = _call(workflow, 120)
    assert run.status == "succeeded", run.error
    assert node_row(run, "handled").status == "succeeded"
    # The answer the builder drew could not be made: the caller is not told all went well.
    assert (status, body) == (422, {"error": "rejected", "run_id": str(run.pk)})


def test_a_respond_whose_body_fails_answers_its_default_output_with_its_status_and_headers(
        celery_worker_process, publish):
    workflow = publish(_respond_flow({"on_error": "default_output",
                                      "default_output": {"total": None, "priced": False}}))
    status, body, headers, run = _call(workflow, 120)
    assert (status, body) == (201, {"total": None, "priced": False})
    assert headers["x-priced"] == "yes"
    assert run.status == "succeeded", run.error
    assert node_row(run, "answer").outputs["out"]["body"] == {"total": None, "priced": False}


def test_a_stored_version_1_respond_still_answers_the_failure_answer(
        celery_worker_process, publish):
    graph = _respond_flow()
    graph["nodes"][2]["version"] = 1  # stored before the policy existed
    workflow = publish(graph)
    assert workflow.versions.get().graph["nodes"][2]["version"] == 1
    status, body, _, run = _call(workflow, 120, front="view")
    assert (status, body) == (422, {"error": "rejected", "run_id": str(run.pk)})
    assert run.status == "failed"
    status, body, headers, _ = _call(workflow, 12.5, front="view")
    assert (status, body, headers["x-priced"]) == (201, {"total": 12.5 * 0.9}, "yes")


OLDER = [(t.type, v) for t in registry for v in registry.versions(t.type) if v < t.version]


@pytest.mark.parametrize(("type_name", "version"), OLDER, ids=[f"{t}-v{v}" for t, v in OLDER])
def test_stored_graphs_of_every_older_version_validate_as_the_latest(type_name, version):
    config = node_examples().get(type_name, {})
    graph = flow(("start", "trigger.manual"), ("step", type_name, config),
                 edges=[("start", "step")])
    graph["nodes"][1]["version"] = version
    assert [p for p in validate_graph(graph, registry) if p.severity == ERROR] == []
    upgraded = registry.upgrade_graph(graph)["nodes"][1]
    assert upgraded["version"] == registry.latest(type_name).version
