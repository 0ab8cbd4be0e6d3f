"""Debug a past run in the editor: a failed production run's input goes into a test run
of the fixed draft, with the nodes that succeeded pinned; the run page offers the same,
and refuses it clearly for a run of a deleted workflow. The runs list, a run's page and
home stay readable at phone width. A run waiting on a person is cancelled from its page."""

import pytest
from playwright.sync_api import expect

from apps.runs.models import Run, RunMode
from apps.runs.services import run_start
from apps.workflows.models import NodePin
from apps.workflows.services import workflow_delete, workflow_publish, workflow_update
from tests.e2e.conftest import spaced
from tests.fixtures.runs import flow

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _graph(last: tuple) -> dict:
    graph = spaced(flow(("start", "trigger.manual"),
                        ("total", "data.set",
                         {"fields": [{"name": "total", "value": "input.amount * 2"}]}),
                        last, edges=[("start", "total"), ("total", last[0])]))
    names = {"start": "New order", "total": "Total", "check": "Check"}
    for node in graph["nodes"]:
        node["name"] = names[node["id"]]
    return graph


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1


def test_debug_a_failed_run_in_the_editor_with_its_outputs_pinned(
        signed_in_page, live_web, create_workflow, screenshot, csp_watch):
    page, user = signed_in_page(roles=["editor"])
    workflow = create_workflow(user=user, name="Orders", graph=_graph(("check", "test.fail")))
    workflow_publish(workflow=workflow, user=user)
    failed = run_start(workflow=workflow, input={"amount": 21, "order": "A-5"})
    assert failed.status == "failed"
    workflow.refresh_from_db()  # the builder fixes the failing node in the draft
    workflow_update(workflow=workflow, user=user, revision=workflow.revision,
                    graph=_graph(("check", "test.set", {"values": {"checked": True}})))

    page.goto(f"{live_web.url}/editor/{workflow.pk}/?run={failed.pk}")
    bar = page.locator(".run-bar")
    expect(bar.locator(".pill")).to_have_text("failed")
    bar.get_by_role("button", name="Debug in editor").click()
    form = bar.get_by_role("group", name="Debug in editor")
    expect(form).to_contain_text("Test the current draft with this run's input?")
    form.get_by_label("also pin each node's output from this run").check()
    screenshot("debug-asked")
    form.get_by_role("button", name="Start test run").click()

    toast = page.locator(".toast-success")
    expect(toast).to_contain_text(f"Test run of the draft started with run {str(failed.pk)[:8]}")
    expect(toast).to_contain_text("1 node output(s) pinned, 1 not (check: It did not "
                                  "succeed in this run.)")
    expect(bar.locator(".pill")).to_have_text("succeeded")
    expect(bar).to_contain_text("Test run")
    screenshot("debug-test-run-succeeded")
    test_run = Run.objects.get(mode=RunMode.TEST)
    assert test_run.input == {"amount": 21, "order": "A-5"}
    assert NodePin.objects.get(workflow=workflow, node_id="total").outputs == {
        "out": {"total": 42}}
    assert list(test_run.node_runs.filter(node_id="check").values_list("status", flat=True)) \
        == ["succeeded"]

    # The run page offers the same, and says clearly why not once the workflow is gone.
    page.goto(f"{live_web.url}/runs/{failed.pk}/")
    expect(page.get_by_role("button", name="Debug in editor")).to_be_visible()
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot("run-page-at-phone-width")
    _no_sideways_scroll(page)
    page.goto(f"{live_web.url}/runs/")
    expect(page.locator("#run-rows tr[data-run]")).to_have_count(2)
    screenshot("runs-at-phone-width")
    _no_sideways_scroll(page)
    page.goto(f"{live_web.url}/")
    expect(page.get_by_role("region", name="Failed in the last 24 hours")).to_contain_text(
        "Orders")
    screenshot("home-at-phone-width")
    _no_sideways_scroll(page)
    page.goto(f"{live_web.url}/workflows/")
    expect(page.get_by_role("link", name="Orders")).to_be_visible()
    screenshot("workflows-at-phone-width")
    _no_sideways_scroll(page)
    page.goto(f"{live_web.url}/editor/{workflow.pk}/")
    expect(page.get_by_role("note")).to_contain_text("The editor is made for a wider screen")
    screenshot("editor-at-phone-width")
    page.set_viewport_size({"width": 1440, "height": 900})
    expect(page.get_by_role("note")).to_be_hidden()

    # The page reads itself again once its live socket is open: wait for that, so the
    # deletion below is news to the page on the screen.
    with page.expect_response(lambda r: r.url.endswith(f"/runs/{failed.pk}/")
                              and r.request.resource_type == "fetch"):
        page.goto(f"{live_web.url}/runs/{failed.pk}/")
    workflow_delete(workflow=workflow, user=user)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Debug in editor").click()
    expect(page.locator(".flash")).to_contain_text(
        "Not debugged: This run cannot be debugged in the editor. Its workflow was deleted")
    expect(page.get_by_role("note")).to_contain_text("Its workflow was deleted")
    expect(page.get_by_role("button", name="Debug in editor")).to_have_count(0)
    screenshot("debug-refused")
    assert Run.objects.filter(mode=RunMode.TEST).count() == 1
    assert csp_watch() == []


def test_cancel_a_run_waiting_on_a_person_from_its_page(signed_in_page, live_web, create_team,
                                                        start_review, screenshot, csp_watch):
    from apps.approvals.models import Task

    page, user = signed_in_page(roles=["editor"])
    create_team(name="Billing", members=[user])
    task = start_review(input={"number": "INV-77"}, user=user)
    run = task.run
    assert run.status == "waiting"

    with page.expect_response(lambda r: r.url.endswith(f"/runs/{run.pk}/")
                              and r.request.resource_type == "fetch"):
        page.goto(f"{live_web.url}/runs/{run.pk}/")
    expect(page.locator(".run-head .pill")).to_have_text("waiting")
    expect(page.get_by_role("link", name="task")).to_be_visible()
    screenshot("waiting-on-a-person")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel run").click()
    expect(page.locator(".flash")).to_contain_text(f"Run {str(run.pk)[:8]} cancelled")
    expect(page.locator(".run-head .pill")).to_have_text("cancelled")
    screenshot("cancelled")
    run.refresh_from_db()
    assert run.status == "cancelled"
    assert Task.objects.get(pk=task.pk).status != "open"
    assert csp_watch() == []
