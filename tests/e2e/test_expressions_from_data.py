"""Expressions that know the data: a field dragged from the input panel into a Set node's
value, autocomplete of paths from the trigger's sample input, the integer-times-decimal
problem reported with its fix before publishing, and a live preview of the value."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import spaced
from tests.fixtures.runs import flow

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_pick_a_field_from_the_input_and_see_the_typed_problem_and_preview(
        signed_in_page, create_workflow, open_editor, screenshot):
    page, user = signed_in_page(roles=["editor"])
    graph = spaced(flow(("start", "trigger.manual",
                         {"sample_input": {"amount": 120, "customer": {"name": "Ada"}}}),
                        ("price", "data.set", {"fields": [{"name": "discounted", "value": "1"}]}),
                        edges=[("start", "price")]))
    graph["nodes"][0]["name"], graph["nodes"][1]["name"] = "New order", "Price"
    workflow = create_workflow(user=user, name="Discounts", graph=graph)
    editor = open_editor(page, workflow)
    editor.node("Price").click()

    # Drag "amount" from the input panel into the value field: its path goes in.
    data = page.get_by_role("region", name="Node data")
    value = editor.side_panel.get_by_label("Value")
    value.fill("")
    data.get_by_label("Input", exact=True).scroll_into_view_if_needed()
    data.get_by_label("Input", exact=True).get_by_text("amount", exact=True).drag_to(value)
    expect(value).to_have_value("input.amount")
    screenshot("dropped")

    # Integer times decimal: reported at once, with the fix, before any publish.
    value.press("End")
    value.type(" * 0.9")
    alert = editor.side_panel.get_by_role("alert").filter(has_text="double(input.amount)")
    expect(alert).to_be_visible()
    # The draft's check reports it too, as publish would refuse it: named by the node.
    problem = editor.problems.get_by_role("button", name="error: Node 'Price', field "
                                          "'fields.0.value': No operator '*' for (int, double)")
    expect(problem).to_contain_text("double(input.amount)")
    expect(problem.locator(".problem-where")).to_have_text("Price")
    screenshot("typed-problem")

    # The fix checks, and the preview shows what it gives on the sample.
    value.fill("double(input.amount) * 0.9")
    expect(editor.side_panel.get_by_label("Preview")).to_contain_text("108")
    screenshot("preview")

    # Autocomplete from the sample's fields.
    value.fill("")
    data.get_by_label("Input", exact=True).scroll_into_view_if_needed()
    value.type("input.cu")
    options = page.get_by_role("listbox", name="Fields from the data")
    expect(options.get_by_role("option").first).to_contain_text("input.customer")
    screenshot("autocomplete")
    value.press("ArrowDown")
    value.press("Enter")
    expect(value).to_have_value("input.customer.name")
    expect(editor.side_panel.get_by_label("Preview")).to_contain_text('"Ada"')
