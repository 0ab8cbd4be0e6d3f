"""Publish and the check endpoint report the type errors a run would meet, with the types
of the draft's sample data (the trigger's sample input, pins, earlier test runs): an
integer times a decimal is refused before it can fail a run, naming the node and the fix."""

import pytest

from apps.workflows.models import NodePin, WorkflowVersion
from tests.fixtures.runs import flow

pytestmark = pytest.mark.django_db

FIX = "double(input.amount)"


def priced(value="input.amount * 0.9", sample=None):
    graph = flow(("start", "trigger.manual", {"sample_input": sample or {"amount": 120}}),
                 ("price", "data.set", {"fields": [{"name": "discounted", "value": value}]}),
                 edges=[("start", "price")])
    graph["nodes"][1]["name"] = "Price"
    return graph


def test_publish_refuses_integer_times_decimal_on_the_sample_naming_node_and_fix(
        editor_client, create_workflow):
    workflow = create_workflow(user=editor_client.user, graph=priced())
    response = editor_client.post(f"/api/workflows/{workflow.pk}/publish/", {}, format="json")
    assert response.status_code == 400, response.data
    assert response.data["code"] == "invalid_graph"
    (problem,) = response.data["problems"]
    assert problem["node_id"] == "price"
    assert problem["field"] == "config.fields.0.value"
    assert "Node 'Price'" in problem["message"]
    assert FIX in problem["message"]
    assert FIX in response.data["detail"]
    assert not WorkflowVersion.objects.filter(workflow=workflow).exists()


def test_the_check_endpoint_reports_it_once_and_the_fix_passes(editor_client, create_workflow):
    workflow = create_workflow(user=editor_client.user, graph=priced())
    checked = editor_client.post(f"/api/workflows/{workflow.pk}/validate/", {}, format="json")
    assert checked.data["valid"] is False
    assert [(p["code"], p["node_id"]) for p in checked.data["problems"]] == [
        ("expression_type_error", "price")]
    fixed = priced(value=f"{FIX} * 0.9")
    checked = editor_client.post(f"/api/workflows/{workflow.pk}/validate/", {"graph": fixed},
                                 format="json")
    assert checked.data == {"valid": True, "problems": []}


def test_a_decimal_sample_gives_no_error_and_publish_goes_through(editor_client,
                                                                  create_workflow):
    workflow = create_workflow(user=editor_client.user, graph=priced(sample={"amount": 12.5}))
    response = editor_client.post(f"/api/workflows/{workflow.pk}/publish/", {}, format="json")
    assert response.status_code == 201, response.data


def test_a_pin_gives_the_types_of_the_nodes_after_it(editor_client, create_workflow):
    graph = flow(("start", "trigger.manual"), ("order", "core.noop"),
                 ("price", "data.set", {"fields": [{"name": "d", "value": "input.total * 0.9"}]}),
                 ("label", "data.set", {"fields": [{"name": "t",
                                                    "value": "nodes.order.output.id + 1"}]}),
                 edges=[("start", "order"), ("order", "price"), ("price", "label")])
    workflow = create_workflow(user=editor_client.user, graph=graph)
    assert editor_client.post(f"/api/workflows/{workflow.pk}/validate/", {},
                              format="json").data["valid"] is True  # no data: no types
    NodePin.objects.create(workflow=workflow, node_id="order",
                           outputs={"out": {"total": 3, "id": "A-1"}})
    problems = editor_client.post(f"/api/workflows/{workflow.pk}/validate/", {},
                                  format="json").data["problems"]
    assert sorted((p["node_id"], p["field"]) for p in problems) == [
        ("price", "config.fields.0.value")]
    assert "double(input.total)" in problems[0]["message"]


def test_unknown_functions_and_names_are_reported_at_publish(editor_client, create_workflow):
    workflow = create_workflow(user=editor_client.user, graph=priced(value="money(input.amount)"))
    response = editor_client.post(f"/api/workflows/{workflow.pk}/publish/", {}, format="json")
    assert response.status_code == 400
    assert "money" in response.data["problems"][0]["message"]


ORDER = {"amount": 120, "customer": {"name": "Ada", "age": 36, "tags": ["vip"]},
         "lines": [{"sku": "A-1", "qty": 2}], "note": None}


@pytest.mark.parametrize("value", [
    "input",                                    # the whole sample object
    "run.input",
    "nodes.start.output",
    "nodes.start.outputs",
    "input.customer",                           # a nested object
    "input.customer.name + '!'",
    "{'who': input.customer, 'total': double(input.amount) * 0.9}",
    "input.lines",
    "input.lines[0].qty * 2",
    "input.lines.map(l, l.sku)",
    "input.customer.tags.exists(t, t == 'vip')",
    "has(input.amount) && input.amount > 100",  # presence tests of sample fields
    "!has(input.customer.age)",
    "has(input.coupon) ? input.coupon : 'none'",
    "input['amount'] + 1",
    "input.coupon",                             # a field the sample lacks may come at run time
    "input.note",
    "size(input) > 0",
])
def test_publish_accepts_expressions_over_whole_sample_objects(editor_client, create_workflow,
                                                               value):
    workflow = create_workflow(user=editor_client.user, graph=priced(value=value, sample=ORDER))
    response = editor_client.post(f"/api/workflows/{workflow.pk}/publish/", {}, format="json")
    assert response.status_code == 201, response.data


@pytest.mark.parametrize(("value", "fix"), [
    ("input.amount * 0.9", "double(input.amount)"),
    ("input.customer.age * 0.9", "double(input.customer.age)"),
    ("nodes.start.output.amount * 0.9", "double(nodes.start.output.amount)"),
    ("run.input.amount * 0.9", "double(run.input.amount)"),
    ("has(input.amount) ? input.amount * 0.9 : 0.0", "double(input.amount)"),
])
def test_integer_times_decimal_is_still_refused_beside_whole_objects(editor_client,
                                                                     create_workflow, value, fix):
    workflow = create_workflow(user=editor_client.user, graph=priced(value=value, sample=ORDER))
    response = editor_client.post(f"/api/workflows/{workflow.pk}/publish/", {}, format="json")
    assert response.status_code == 400, response.data
    (problem,) = response.data["problems"]
    assert fix in problem["message"]
