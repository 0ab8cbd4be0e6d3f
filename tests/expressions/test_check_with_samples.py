"""The editor's expression check with sample data: CEL's type checker uses the types the
data gives (`input.amount * 0.9` on an integer is reported with its fix), and the live
preview shows the value the expression gives on that data."""

import pytest

pytestmark = pytest.mark.django_db

URL = "/api/expressions/check/"


def test_integer_times_decimal_is_reported_with_its_fix(viewer_client):
    body = {"expression": "input.amount * 0.9", "samples": {"input": {"amount": 120}},
            "preview": True}
    response = viewer_client.post(URL, body, format="json")
    assert response.status_code == 200
    assert response.data["valid"] is False
    assert "double(input.amount)" in response.data["error"]["message"]
    # Without sample data nothing says amount is an integer: the check cannot tell.
    assert viewer_client.post(URL, {"expression": "input.amount * 0.9"},
                              format="json").data == {"valid": True}


def test_the_fix_checks_and_previews_its_value(viewer_client):
    body = {"expression": "double(input.amount) * 0.9",
            "samples": {"input": {"amount": 120}, "run": {"input": {"amount": 120}}},
            "preview": True}
    response = viewer_client.post(URL, body, format="json")
    assert response.data == {"valid": True, "preview": {"value": 108.0}}


def test_a_template_previews_its_text_and_fields_missing_from_the_sample_are_named(
        viewer_client):
    ok = viewer_client.post(URL, {"expression": "Order {{ input.id }} for {{ input.who }}",
                                  "template": True, "preview": True,
                                  "samples": {"input": {"id": 7, "who": "Ada"}}},
                            format="json")
    assert ok.data == {"valid": True, "preview": {"value": "Order 7 for Ada"}}
    # A field the sample lacks may arrive at run time: no error, but the preview says so.
    typo = viewer_client.post(URL, {"expression": "input.amout", "preview": True, "samples": {
        "input": {"amount": 1}}}, format="json")
    assert typo.data["valid"] is True
    assert "amout" in typo.data["preview"]["error"]


@pytest.mark.parametrize("expression", [
    "input", "input.customer", "run.input", "nodes.start.output", "input['amount'] + 1",
    "has(input.amount) && input.amount > 1", "input.customer.tags[0] + '!'"])
def test_whole_sample_objects_check_and_preview_as_the_run_gives_them(viewer_client,
                                                                      expression):
    order = {"amount": 120, "customer": {"name": "Ada", "tags": ["vip"]}}
    samples = {"input": order, "run": {"input": order},
               "nodes": {"start": {"output": order, "outputs": {"out": order}}}}
    response = viewer_client.post(URL, {"expression": expression, "samples": samples,
                                        "preview": True}, format="json")
    assert response.data["valid"] is True, response.data
    assert "value" in response.data["preview"]
    nested = viewer_client.post(URL, {"expression": "input.customer.age * 0.9", "samples": {
        "input": {"customer": {"age": 36}}}}, format="json")
    assert "double(input.customer.age)" in nested.data["error"]["message"]


def test_a_failing_preview_says_why(viewer_client):
    response = viewer_client.post(URL, {"expression": "input.items[3]", "preview": True,
                                        "samples": {"input": {"items": [1]}}}, format="json")
    assert response.data["valid"] is True
    assert "error" in response.data["preview"]


@pytest.mark.parametrize(("samples", "field"), [
    ({"secrets": {}}, "samples"),
    ([1, 2], "samples"),
])
def test_bad_samples_are_refused_naming_the_field(viewer_client, samples, field):
    response = viewer_client.post(URL, {"expression": "1", "samples": samples}, format="json")
    assert response.status_code == 400
    assert field in response.data["errors"]
