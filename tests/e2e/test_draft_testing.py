"""Testing the draft without publishing: a test run runs the saved draft (the version list
is unchanged), the header counts the changes since the published version and the
publish dialog lists them, the trigger's sample input fills the test dialog."""

import pytest
from playwright.sync_api import expect

from apps.workflows.models import WorkflowVersion
from apps.workflows.services import workflow_publish
from tests.e2e.conftest import spaced
from tests.fixtures.runs import flow

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _graph():
    graph = spaced(flow(("start", "trigger.manual", {"sample_input": {"amount": 70}}),
                        ("total", "data.set",
                         {"fields": [{"name": "total", "value": "input.amount * 2"}]}),
                        ("big", "control.if", {"condition": "input.total > 100"}),
                        edges=[("start", "total"), ("total", "big")]))
    names = {"start": "New order", "total": "Total", "big": "Big order?"}
    for node in graph["nodes"]:
        node["name"] = names[node["id"]]
    return graph


def test_edit_the_draft_and_test_it_without_publishing(signed_in_page, create_workflow,
                                                        open_editor, screenshot):
    page, user = signed_in_page(roles=["editor"])
    workflow = create_workflow(user=user, name="Orders", graph=_graph())
    workflow_publish(workflow=workflow, user=user)
    editor = open_editor(page, workflow)
    expect(editor.toolbar.get_by_text("v1", exact=True)).to_be_visible()

    # An edit: the header says the draft differs from v1.
    editor.node("Total").click()
    name = page.get_by_label("Name", exact=True)
    name.fill("Doubled")
    expect(editor.save_indicator).to_have_text("Saved", timeout=15_000)
    expect(editor.toolbar.get_by_role("status").filter(has_text="Draft")).to_have_text(
        "Draft · 1 change since v1")
    screenshot("draft-differs")

    # The test dialog starts from the trigger's sample input and runs the draft.
    page.get_by_role("button", name="Start a test run").click()
    dialog = page.get_by_role("dialog", name="Test run")
    expect(dialog.get_by_label("Input (JSON)")).to_have_value('{\n  "amount": 70\n}')
    expect(dialog).to_contain_text("Runs the current draft")
    screenshot("test-dialog")
    dialog.get_by_role("button", name="Run", exact=True).click()
    for node in ("New order", "Doubled", "Big order?"):
        expect(editor.node(node).get_by_role("status")).to_have_text("Succeeded")
    expect(page.locator(".run-bar")).to_contain_text("Test run")
    editor.node("Doubled").click()
    details = page.get_by_role("region", name="This node in the run")
    expect(details.locator(".json-view").last).to_contain_text('"total": 140')
    screenshot("test-run-succeeded")

    # Nothing was published: the version list still holds v1 alone, the run is a test.
    assert list(WorkflowVersion.objects.filter(workflow=workflow).values_list(
        "number", flat=True)) == [1]
    page.get_by_role("tab", name="Versions").click()
    expect(editor.side_panel.locator(".item")).to_have_count(1)
    page.get_by_role("tab", name="Runs").click()
    expect(editor.side_panel.locator(".item").first).to_contain_text("test")
    expect(editor.side_panel.locator(".item").first).to_contain_text("draft (test snapshot)")
    screenshot("runs-list")

    # Publishing lists the change.
    page.get_by_role("button", name="Clear run").click()
    page.get_by_role("button", name="Publish a new version").click()
    publish = page.get_by_role("dialog", name="Publish a new version")
    expect(publish.get_by_role("list", name="Changes since the published version")).to_have_text(
        "Renamed “Total” to “Doubled”")
    screenshot("publish-dialog")
    publish.get_by_role("button", name="Publish", exact=True).click()
    expect(editor.toolbar.get_by_text("v2", exact=True)).to_be_visible()


def test_the_first_demo_passes_its_first_test_run_untouched(signed_in_page, open_editor,
                                                            screenshot):
    from django.core.management import call_command

    from apps.workflows.models import Workflow

    page, _ = signed_in_page(roles=["editor"])
    call_command("weft_seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    workflow = Workflow.objects.get(name="Hello, Weft")
    editor = open_editor(page, workflow)
    page.get_by_role("button", name="Start a test run").click()
    page.get_by_role("dialog", name="Test run").get_by_role("button", name="Run",
                                                              exact=True).click()
    expect(page.locator(".run-bar .pill")).to_have_text("succeeded")
    editor.node("Pass through").click()
    expect(page.get_by_role("region", name="This node in the run").locator(
        ".json-view").last).to_contain_text('"hello": "world"')
    screenshot("hello-demo")
