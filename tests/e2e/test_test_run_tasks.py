"""A test run's approval task goes to the builder who started it and is decided from the
run panel in the editor, without the inbox and without notifying the reviewers."""

import pytest
from playwright.sync_api import expect

from apps.approvals.models import Notification, Task
from tests.e2e.conftest import spaced
from tests.fixtures.approvals import approval_flow

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_decide_a_test_runs_task_from_the_run_panel(signed_in_page, create_workflow,
                                                    create_team, create_user, open_editor,
                                                    screenshot):
    page, user = signed_in_page(roles=["editor"])
    create_team(name="Billing", members=[create_user(roles=["reviewer"])])
    graph = spaced(approval_flow(forbid_self_approval=True))
    graph["nodes"][0]["config"] = {"sample_input": {"number": "INV-7"}}
    names = {"start": "New invoice", "review": "Review", "ok": "Pay", "no": "Refuse"}
    for node in graph["nodes"]:
        node["name"] = names[node["id"]]
    workflow = create_workflow(user=user, name="Invoices", graph=graph)
    editor = open_editor(page, workflow)
    editor.settle()

    page.get_by_role("button", name="Start a test run").click()
    page.get_by_role("dialog", name="Test run").get_by_role("button", name="Run",
                                                            exact=True).click()
    bar = page.locator(".run-bar")
    expect(bar).to_contain_text("Waits for Invoice INV-7")
    task = Task.objects.get(workflow=workflow)
    assert task.is_test
    assert list(task.assignee_users.values_list("username", flat=True)) == [user.username]
    assert not Notification.objects.filter(task=task).exists()
    screenshot("waiting-for-the-builder")

    # The builder started the run and decides its task (no separation of duties in a test).
    bar.get_by_role("button", name="Approve Invoice INV-7").click()
    expect(editor.node("Pay").get_by_role("status")).to_have_text("Succeeded")
    expect(editor.node("Refuse").get_by_role("status")).to_have_text("Skipped")
    expect(bar).to_contain_text("succeeded")
    screenshot("approved-from-the-run-panel")
    task.refresh_from_db()
    assert task.status == "approved"
