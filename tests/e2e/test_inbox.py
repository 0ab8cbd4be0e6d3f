"""The reviewer's inbox in Chromium, with a real worker and the live web server on its
Redis: a reviewer has the inbox open, a run starts, its task appears without a reload,
the reviewer corrects a form field and approves with a comment, and the builder's canvas
(a second browser context with the run open) shows the run finish on the approved branch.
Then the same inbox at phone width."""

import re

import httpx
import pytest
from playwright.sync_api import expect

from apps.approvals.models import Task
from apps.runs.models import NodeRun
from tests.e2e.conftest import spaced
from tests.e2e.editor import Editor
from tests.fixtures.accounts import PASSWORD
from tests.fixtures.runs import flow

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FORM = {"type": "object", "required": ["total"],
        "properties": {"total": {"type": "number", "title": "Total"},
                       "category": {"type": "string", "title": "Category",
                                    "enum": ["hardware", "services", "travel"]}}}


def _invoice_flow():
    review = {
        "title": "Invoice {{ input.number }}",
        "instructions": "Check the total against the purchase order before approving.",
        "assignee_users": ["ann"], "due_in": "2h",
        "context": [
            {"label": "Supplier", "expression": "input.supplier", "kind": "text"},
            {"label": "Model confidence", "expression": "input.confidence", "kind": "confidence"},
            {"label": "Total", "expression": "input.total", "kind": "number"},
            {"label": "Lines", "expression": "input.lines", "kind": "table"},
            {"label": "Scan", "expression": "input.scan", "kind": "link"},
        ],
        "form_schema": FORM,
        "form_values": {"total": "input.total", "category": "input.category"},
    }
    return spaced(flow(("start", "trigger.manual"), ("review", "human.approval", review),
                       ("pay", "core.noop"), ("hold", "core.noop"),
                       edges=[("start", "review"), ("review", "approved", "pay", "in"),
                              ("review", "rejected", "hold", "in")]))


def _invoice(number: str) -> dict:
    return {"number": number, "supplier": "Acme GmbH", "confidence": 0.62, "total": 1249.5,
            "category": "hardware", "scan": "https://files.example.com/scans/" + number,
            "lines": [{"item": "Laptop", "qty": 1, "price": 1199.5},
                      {"item": "Dock", "qty": 1, "price": 50}]}


def _sign_in(page, url, user):
    page.goto(f"{url}/login/")
    page.get_by_label("Username or e-mail").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/")


def _start(url, token, workflow, number) -> str:
    response = httpx.post(f"{url}/api/workflows/{workflow.pk}/runs/", timeout=30,
                          headers={"Authorization": f"Token {token}"},
                          json={"input": _invoice(number)})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_a_reviewer_approves_a_live_task_and_the_builder_sees_the_run_finish(
        page, browser, live_web_on_worker, create_user, create_workflow, api_token,
        screenshot, csp_watch):
    from apps.workflows.services import workflow_publish

    url = live_web_on_worker
    ann = create_user(username="ann", roles=["reviewer"])
    bob = create_user(username="bob", roles=["editor"])
    workflow = create_workflow(user=bob, name="Invoices", graph=_invoice_flow())
    workflow_publish(workflow=workflow, user=bob)

    # The reviewer's inbox is open and empty.
    _sign_in(page, url, ann)
    page.goto(f"{url}/inbox/")
    expect(page.get_by_role("tab", name=re.compile("Assigned to me"))).to_be_visible()
    expect(page.get_by_text("All clear.")).to_be_visible()
    screenshot("inbox-empty")

    # The builder starts a run and opens it on the canvas.
    builder_context = browser.new_context(viewport={"width": 1440, "height": 900})
    canvas = builder_context.new_page()
    canvas.set_default_timeout(10_000)
    _sign_in(canvas, url, bob)
    run_id = _start(url, api_token(bob), workflow, "INV-7")
    canvas.goto(f"{url}/editor/{workflow.pk}/?run={run_id}")
    editor = Editor(page=canvas, base_url=url, workflow_id=str(workflow.pk))
    expect(editor.node("review").get_by_role("status")).to_have_text("Waiting", timeout=30_000)
    expect(canvas.locator(".run-bar")).to_contain_text("Waits for Invoice INV-7")
    expect(canvas.locator(".run-bar").get_by_role("link", name="Open in inbox")).to_have_attribute(
        "href", re.compile(r"^/inbox/[0-9a-f-]{36}/$"))
    screenshot("canvas-waiting", of=canvas)

    # The task appears in the open inbox without a reload.
    row = page.locator(".task-row", has_text="Invoice INV-7")
    expect(row).to_be_visible(timeout=15_000)
    expect(page.get_by_role("tab", name=re.compile("Assigned to me"))).to_contain_text("1")
    expect(row).to_contain_text("due in 2 hours")
    screenshot("task-arrived")

    row.click()
    task = Task.objects.get(run_id=run_id)
    expect(page).to_have_url(f"{url}/inbox/{task.pk}/")
    view = page.get_by_role("article", name="Invoice INV-7")
    expect(view.get_by_role("heading", name="Invoice INV-7")).to_be_visible()
    context = view.get_by_label("Context")
    expect(context).to_contain_text("Acme GmbH")
    expect(context.locator("meter")).to_have_attribute("value", "0.62")
    expect(context).to_contain_text("62%")
    expect(context).to_contain_text("1,249.5")
    expect(context.locator("table")).to_contain_text("Laptop")
    expect(context.get_by_role("link", name=re.compile(r"scans.INV-7"))).to_be_visible()
    expect(view.get_by_role("link", name=re.compile("Invoices · run"))).to_have_attribute(
        "href", f"/editor/{workflow.pk}/?run={run_id}")
    expect(view).to_contain_text("ann (any one)")
    expect(view.get_by_role("region", name="History")).to_contain_text("created")
    # Reject stays disabled until there is a comment.
    expect(view.get_by_role("button", name="Reject")).to_be_disabled()
    screenshot("task-open")

    total = view.get_by_role("region", name="Form").get_by_label("Total")
    expect(total).to_have_value("1249.5")
    total.fill("1250.5")
    view.get_by_label(re.compile("^Comment")).fill("Shipping was added on the PO.")
    expect(view.get_by_role("button", name="Reject")).to_be_enabled()
    screenshot("task-corrected")
    view.get_by_role("button", name="Approve").click()
    expect(view.locator(".task-outcome")).to_contain_text("Approved by ann")
    expect(view.get_by_role("button", name="Approve")).to_have_count(0)
    expect(page.locator(".task-row", has_text="Invoice INV-7")).to_have_count(0)
    screenshot("task-approved")

    # The builder's canvas shows the run finish on the approved branch.
    expect(editor.node("pay").get_by_role("status")).to_have_text("Succeeded", timeout=30_000)
    expect(canvas.locator(".run-bar")).to_contain_text("succeeded", timeout=30_000)
    expect(editor.node("hold").locator(".weft-node")).not_to_have_class(
        re.compile(r"\brun-succeeded\b"))
    screenshot("canvas-approved", of=canvas)
    output = NodeRun.objects.get(run_id=run_id, node_id="review").outputs
    decided = output.get("approved", output)
    assert decided["decision"] == "approved"
    assert decided["comment"] == "Shipping was added on the PO."
    assert decided["form"] == {"total": 1250.5, "category": "hardware"}
    builder_context.close()

    # A reviewer on a phone: the list, then the task, one above the other.
    _start(url, api_token(bob), workflow, "INV-8")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{url}/inbox/")
    phone_row = page.locator(".task-row", has_text="Invoice INV-8")
    expect(phone_row).to_be_visible(timeout=15_000)
    screenshot("phone-list")
    phone_row.click()
    expect(page.get_by_role("heading", name="Invoice INV-8")).to_be_visible()
    expect(page.get_by_role("button", name="← All tasks")).to_be_visible()
    screenshot("phone-task")
    # All of it under the strict Content-Security-Policy: not one violation.
    assert csp_watch() == []


def test_a_task_decided_elsewhere_shows_who_decided_it_and_refuses_a_decision(
        page, live_web_on_worker, create_user, create_workflow, create_team, api_token,
        screenshot):
    from apps.workflows.services import workflow_publish

    url = live_web_on_worker
    ann = create_user(username="ann", roles=["reviewer"])
    bob = create_user(username="bob", roles=["reviewer"])
    create_team(name="Billing", members=[ann, bob])
    builder = create_user(username="carol", roles=["editor"])
    graph = _invoice_flow()
    review = next(n for n in graph["nodes"] if n["id"] == "review")
    review["config"].update(assignee_users=[], assignee_teams=["Billing"])
    workflow = create_workflow(user=builder, name="Invoices", graph=graph)
    workflow_publish(workflow=workflow, user=builder)

    _sign_in(page, url, ann)
    page.goto(f"{url}/inbox/")
    page.get_by_role("tab", name=re.compile("My teams")).click()
    run_id = _start(url, api_token(builder), workflow, "INV-9")
    row = page.locator(".task-row", has_text="Invoice INV-9")
    expect(row).to_be_visible(timeout=15_000)
    expect(page.get_by_role("tab", name=re.compile("My teams"))).to_contain_text("1")

    # The keyboard: j opens the first task, ? lists the shortcuts.
    page.locator("body").press("j")
    view = page.get_by_role("article", name="Invoice INV-9")
    expect(view).to_be_visible()
    page.locator("body").press("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_dialog).to_contain_text("approve the open task")
    screenshot("shortcuts")
    page.keyboard.press("Escape")
    expect(help_dialog).to_have_count(0)
    expect(view.get_by_role("button", name="Approve")).to_be_enabled()

    # Bob rejects it from elsewhere: Ann's open task says so at once and offers no decision.
    task = Task.objects.get(run_id=run_id)
    response = httpx.post(f"{url}/api/tasks/{task.pk}/decide/", timeout=30,
                          headers={"Authorization": f"Token {api_token(bob)}"},
                          json={"decision": "rejected", "comment": "Duplicate of INV-3."})
    assert response.status_code == 200, response.text
    expect(view.locator(".task-outcome")).to_contain_text("Rejected by bob", timeout=15_000)
    expect(view.locator(".task-outcome")).to_contain_text("Duplicate of INV-3.")
    expect(view.get_by_role("button", name="Approve")).to_have_count(0)
    expect(page.locator(".task-row", has_text="Invoice INV-9")).to_have_count(0)
    expect(page.get_by_role("tab", name=re.compile("My teams"))).to_contain_text("0")
    page.locator("body").press("a")  # the shortcut decides nothing either
    screenshot("decided-elsewhere")
    # A second decision sent anyway is refused, naming who decided and when.
    again = httpx.post(f"{url}/api/tasks/{task.pk}/decide/", timeout=30,
                       headers={"Authorization": f"Token {api_token(ann)}"},
                       json={"decision": "approved", "comment": ""})
    assert again.status_code == 409
    assert again.json()["decided_by"] == "bob"
    task.refresh_from_db()
    assert (task.status, task.decided_by) == ("rejected", bob)


def test_a_team_lead_claims_releases_and_reassigns_a_task(
        page, live_web_on_worker, create_user, create_workflow, create_team, api_token,
        screenshot, csp_watch):
    from apps.workflows.services import workflow_publish

    url = live_web_on_worker
    ann = create_user(username="ann", roles=["reviewer"])
    bob = create_user(username="bob", roles=["reviewer"])
    create_team(name="Billing", members=[ann, bob], lead=ann)
    builder = create_user(username="carol", roles=["editor"])
    graph = _invoice_flow()
    review = next(n for n in graph["nodes"] if n["id"] == "review")
    review["config"].update(assignee_users=[], assignee_teams=["Billing"])
    workflow = create_workflow(user=builder, name="Invoices", graph=graph)
    workflow_publish(workflow=workflow, user=builder)
    run_id = _start(url, api_token(builder), workflow, "INV-10")
    task = Task.objects.get(run_id=run_id)

    _sign_in(page, url, ann)
    page.goto(f"{url}/inbox/{task.pk}/")
    view = page.get_by_role("article", name="Invoice INV-10")
    facts = view.locator(".task-facts")
    expect(facts).to_contain_text("not claimed")
    page.locator("body").press("c")
    expect(facts).to_contain_text("by you")
    expect(page.get_by_role("tab", name=re.compile("Assigned to me"))).to_contain_text("1")
    view.get_by_role("button", name="Release").click()
    expect(facts).to_contain_text("not claimed")

    view.get_by_role("button", name="Reassign…").click()
    dialog = page.get_by_role("dialog", name="Reassign")
    expect(dialog.get_by_label("Billing")).to_be_checked()
    dialog.get_by_label("bob").check()
    screenshot("reassign")
    dialog.get_by_role("button", name="Reassign", exact=True).click()
    expect(dialog).to_have_count(0)
    expect(facts).to_contain_text("bob, Billing (team)")
    expect(view.get_by_role("region", name="History")).to_contain_text("reassigned by ann")
    screenshot("reassigned")
    assert sorted(task.assignee_users.values_list("username", flat=True)) == ["bob"]
    assert csp_watch() == []
