"""The first hour, in Chromium, from an empty database: an admin signs in and creates the
team "Support tier 2", a builder and a reviewer; the builder makes "Support ticket
escalation" from its template, raises the confidence threshold in the inspector, tests
the draft with the sample, publishes and sends a signed ticket to the webhook; the run
waits at the approval, lit on the canvas; the reviewer (a second browser context) sees
the task arrive live and approves it with a comment; the builder's canvas shows the run
finish; the admin finds the model call on the model page and every step in the audit
log, with the chain verified.

A screenshot at each step: under a temporary folder, or under WEFT_TOUR_DIR
(`make tour` writes docs/tour/, the README's five-minute tour)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from apps.inference.client import auth_headers
from apps.oversight.rollup import model_hours_rollup
from apps.runs.models import Run
from apps.workflows.models import Workflow
from tests.e2e.editor import Editor

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "weft-tour-2026"
VIEWPORT = {"width": 1440, "height": 900}
TICKET = {"subject": "Checkout page shows error 500",
          "body": "Customers cannot pay since the last release; orders are being lost.",
          "customer": {"name": "Grace Hopper", "tier": "premium"}}


@pytest.fixture
def tour(tmp_path):
    """tour(page, "step") saves NN-step.png of the page's viewport."""
    folder = Path(os.environ.get("WEFT_TOUR_DIR") or tmp_path / "tour")
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    counter = {"n": 0}

    def take(page, step: str) -> Path:
        counter["n"] += 1
        path = folder / f"{counter['n']:02d}-{step}.png"
        page.screenshot(path=str(path))
        return path

    return take


def _sign_in(page, url: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{url}/login/")
    page.get_by_label("Username or e-mail").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/")


def _context_page(browser):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(10_000)
    return context, page


def _user_add(page, url: str, username: str, role: str) -> None:
    page.goto(f"{url}/console/users/")
    form = page.locator("section.create-user")
    form.get_by_label("Username").fill(username)
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_label(role, exact=True).check()
    form.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("status")).to_contain_text(f"{username} was created")


def _signed_post(url: str, body: bytes, key: str, result: dict) -> None:
    """POST a ticket signed the way the webhook checks it (the inspector's curl example)."""
    t = int(time.time())
    signature = hmac.new(key.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "X-Signature": f"t={t},v1={signature}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            result["status"], result["body"] = response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        result["status"], result["body"] = exc.code, exc.read().decode()


def test_the_first_hour(page, browser, live_web_on_worker, triton, create_triton_server,
                        create_user, tour):
    url = live_web_on_worker
    admin = create_user(username="ada", roles=["admin"], password=PASSWORD)
    # `make run` registers its local Triton server the same way.
    create_triton_server(user=admin, name="local", url=f"127.0.0.1:{triton.http_port}",
                         protocol="http", secret_headers=auth_headers("http", triton.access_token),
                         model_names=list(triton.models))
    assert not Workflow.objects.exists()  # an empty database: no demo data

    # 1. The admin signs in and adds a builder, a reviewer and the team.
    page.set_viewport_size(VIEWPORT)
    _sign_in(page, url, "ada")
    tour(page, "signed-in")
    _user_add(page, url, "bea", "editor")
    _user_add(page, url, "rita", "reviewer")
    tour(page, "users")
    page.goto(f"{url}/console/teams/")
    page.get_by_label("Name").fill("Support tier 2")
    page.get_by_label("Lead").select_option(label="rita")
    page.get_by_label("Description").fill("Tickets the model is unsure about")
    page.get_by_role("button", name="Create team").click()
    expect(page.get_by_role("heading", name="Team Support tier 2")).to_be_visible()
    tour(page, "team")

    # 2. The builder creates the workflow from its template.
    builder_context, canvas = _context_page(browser)
    _sign_in(canvas, url, "bea")
    canvas.goto(f"{url}/workflows/")
    canvas.get_by_role("button", name="New workflow").first.click()
    dialog = canvas.get_by_role("dialog", name="New workflow")
    ticket = dialog.get_by_role("list", name="Templates").locator(
        '[data-template="support_ticket_escalation"]')
    ticket.get_by_role("button", name="Start from Support ticket escalation").click()
    expect(dialog.get_by_label("Name")).to_have_value("Support ticket escalation")
    tour(canvas, "template")
    dialog.get_by_role("button", name="Create", exact=True).click()
    canvas.wait_for_url("**/editor/**")
    workflow = Workflow.objects.get(name="Support ticket escalation")
    editor = Editor(page=canvas, base_url=url, workflow_id=str(workflow.pk))
    expect(canvas.locator(".react-flow__renderer")).to_be_visible()

    # 3. ... raises the confidence threshold in the inspector ...
    editor.node("Needs a person?").locator(".weft-node-header").click()
    condition = editor.side_panel.get_by_label("Condition")
    expect(condition).to_have_value(re.compile(r"input\.confidence < 0\.9 "))
    condition.fill(condition.input_value().replace("< 0.9 ", "< 0.95 "))
    editor.expect_saved()
    tour(canvas, "threshold")

    # 4. ... tests the draft with the template's sample ...
    canvas.get_by_role("button", name="Start a test run").click()
    test_dialog = canvas.get_by_role("dialog", name="Test run")
    expect(test_dialog.get_by_label("Input (JSON)")).to_have_value(
        re.compile("Invoices export fails"))
    test_dialog.get_by_role("button", name="Run", exact=True).click()
    expect(editor.node("Urgency").get_by_role("status")).to_have_text("Succeeded",
                                                                      timeout=30_000)
    expect(editor.node("Tier 2 review").get_by_role("status")).to_have_text("Waiting",
                                                                            timeout=30_000)
    tour(canvas, "test-run")

    # 5. ... publishes, and finds the webhook's address and signing key.
    canvas.get_by_role("button", name="Clear run").click()
    canvas.get_by_role("button", name="Publish a new version").click()
    canvas.get_by_role("dialog", name="Publish a new version").get_by_role(
        "button", name="Publish", exact=True).click()
    expect(editor.toolbar.get_by_text("v1", exact=True)).to_be_visible()
    editor.node("New ticket").locator(".weft-node-header").click()
    webhook = canvas.get_by_role("region", name="Webhook")
    production_url = webhook.get_by_role("textbox", name="Production URL").input_value()
    webhook.get_by_role("button", name="Reveal").click()
    key = webhook.get_by_role("textbox", name="Signing key").input_value()
    assert len(key) == 64
    tour(canvas, "published")

    # 6. The reviewer has the inbox open.
    reviewer_context, inbox = _context_page(browser)
    _sign_in(inbox, url, "rita")
    inbox.goto(f"{url}/inbox/")
    inbox.get_by_role("tab", name=re.compile("My teams")).click()

    # 7. A signed ticket reaches the webhook; the run waits at the approval, lit.
    answer: dict = {}
    sender = threading.Thread(target=_signed_post, args=(
        production_url, json.dumps(TICKET).encode(), key, answer))
    sender.start()
    deadline = time.monotonic() + 30
    while not (runs := list(Run.objects.filter(workflow=workflow).exclude(mode="test"))):
        assert time.monotonic() < deadline, "the webhook started no run"
        time.sleep(0.2)
    (run,) = runs
    canvas.get_by_role("tab", name="Runs").click()
    canvas.get_by_role("button", name=re.compile(f"Open run {run.pk}")).click()
    review = editor.node("Tier 2 review")
    expect(review.get_by_role("status")).to_have_text("Waiting", timeout=30_000)
    expect(review.locator(".weft-node")).to_have_class(re.compile(r"\brun-waiting\b"))
    tour(canvas, "waiting")

    # 8. The task arrives in the open inbox; the reviewer approves with a comment.
    row = inbox.locator(".task-row", has_text=TICKET["subject"])
    expect(row).to_be_visible(timeout=15_000)
    tour(inbox, "task-arrived")
    row.click()
    task_view = inbox.get_by_role("article", name=f"Ticket: {TICKET['subject']}")
    expect(task_view.get_by_label("Context")).to_contain_text("Grace Hopper (premium)")
    task_view.get_by_label(re.compile("^Comment")).fill("Known regression; hotfix is rolling out.")
    tour(inbox, "task-open")
    task_view.get_by_role("button", name="Approve").click()
    expect(task_view.locator(".task-outcome")).to_contain_text("Approved by rita")
    tour(inbox, "approved")

    # 9. The builder's canvas shows the run finish (and the Runs list follows).
    expect(editor.node("Answer: resolution").get_by_role("status")).to_have_text(
        "Succeeded", timeout=30_000)
    expect(canvas.locator(".run-bar")).to_contain_text("succeeded", timeout=30_000)
    expect(canvas.get_by_role("button", name=f"Open run {run.pk} (succeeded)")).to_be_visible(
        timeout=15_000)  # the Runs list follows live
    tour(canvas, "finished")
    sender.join(timeout=60)
    assert answer["status"] in (200, 202), answer

    # 10. The admin sees the model's call and every step in the verified audit log.
    model_hours_rollup()  # the scheduler's job each minute, run now rather than waited for
    page.goto(f"{url}/console/models/")
    models = page.locator("table.models-list")
    expect(models).to_contain_text("ticket_urgency")
    models.get_by_role("link", name="ticket_urgency").click()
    page.wait_for_selector("#model-charts[data-state=drawn]")
    figures = page.get_by_role("region", name="Last 24 hours")
    calls = int(figures.locator("dt:text('Calls') + dd").inner_text())
    assert calls == 1  # the webhook run's; a test run's calls are kept out of the figures
    tour(page, "model")

    page.goto(f"{url}/console/audit/")
    page.get_by_role("button", name="Verify chain").click()
    expect(page.locator(".chain-status")).to_contain_text("Chain verified")
    log = page.locator("main").inner_text()
    for action in ("user.create", "team.create", "workflow.create", "workflow.publish",
                   "inference.call", "task.created", "task.decided", "audit.verify"):
        assert action in log, action
    tour(page, "audit")
    builder_context.close()
    reviewer_context.close()
