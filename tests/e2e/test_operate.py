"""Operating Weft from the browser (Chromium, a real Celery worker): find a run by a value
inside its input, retry it from its page and watch it succeed, cancel a running run from
the editor's run panel; create an API token in the console and call the API with it."""

import json
import urllib.request

import pytest
from playwright.sync_api import expect

from apps.runs.models import Run
from apps.workflows.services import workflow_publish
from tests.e2e.conftest import spaced
from tests.fixtures.accounts import PASSWORD
from tests.fixtures.runs import flow

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _sign_in(page, url, user):
    page.goto(f"{url}/login/")
    page.get_by_label("Username or e-mail").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/")


def _start(url, token, workflow, body):
    request = urllib.request.Request(
        f"{url}/api/workflows/{workflow.pk}/runs/", data=json.dumps({"input": body}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
        method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["id"]


def test_find_a_run_by_its_input_retry_it_and_cancel_another(
        page, live_web_on_worker, create_user, create_workflow, receiver, api_token,
        screenshot, csp_watch):
    url = live_web_on_worker
    user = create_user(roles=["editor"], username="olga")
    calls = create_workflow(user=user, name="Order sync", graph=spaced(flow(
        ("start", "trigger.manual"), ("call", "test.call", {"url": receiver.url}),
        edges=[("start", "call")])))
    slow = create_workflow(user=user, name="Slow report", graph=spaced(flow(
        ("start", "trigger.manual"), ("wait", "test.sleep", {"seconds": 600}),
        edges=[("start", "wait")])))
    for workflow in (calls, slow):
        workflow_publish(workflow=workflow, user=user)
    token = api_token(user)
    wanted = _start(url, token, calls, {"order": "A-7781", "fail_until": 1})
    _start(url, token, calls, {"order": "A-1000"})
    _sign_in(page, url, user)

    page.goto(f"{url}/runs/")
    expect(page.locator("#live-state")).to_have_text("Live")
    page.get_by_label("Search in input and result").fill("a-7781")
    page.get_by_role("button", name="Apply").click()
    rows = page.locator("#run-rows tr[data-run]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-run", wanted)
    expect(rows.first.locator(".pill")).to_have_text("failed", timeout=30_000)
    screenshot("found-by-input")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    screenshot("runs-at-phone-width")
    page.goto(f"{url}/")
    failed = page.get_by_role("region", name="Failed in the last 24 hours")
    expect(failed).to_contain_text("Order sync")
    expect(failed).to_contain_text("planned failure on attempt 1")
    screenshot("home-after-a-failure")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.go_back()

    rows.first.get_by_role("link").click()
    expect(page.get_by_role("heading", name=f"Run {wanted[:8]}")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("planned failure on attempt 1")
    screenshot("failed-run")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Retry from the failed node").click()
    expect(page.locator(".flash")).to_contain_text(f"Run {wanted[:8]} retried")
    expect(page.locator(".run-head .pill")).to_have_text("succeeded", timeout=30_000)
    screenshot("retried-and-succeeded")
    assert Run.objects.get(pk=wanted).node_runs.filter(node_id="call", attempt=2,
                                                       status="succeeded").exists()

    # A run that is still going: the editor's run panel cancels it, and the runs page,
    # open in a second tab, shows the change without reload.
    running = _start(url, token, slow, {})
    list_tab = page.context.new_page()
    list_tab.goto(f"{url}/runs/?workflow={slow.pk}")
    expect(list_tab.locator("#live-state")).to_have_text("Live")
    expect(list_tab.locator(f"tr[data-run='{running}'] .pill")).to_have_text("running",
                                                                            timeout=30_000)
    page.goto(f"{url}/editor/{slow.pk}/?run={running}")
    bar = page.locator(".run-bar")
    expect(bar).to_contain_text("running", timeout=30_000)
    page.once("dialog", lambda dialog: dialog.accept())
    bar.get_by_role("button", name="Cancel run").click()
    expect(bar.locator(".pill")).to_have_text("cancelled", timeout=30_000)
    screenshot("cancelled-in-editor")
    expect(list_tab.locator(f"tr[data-run='{running}'] .pill")).to_have_text("cancelled",
                                                                            timeout=30_000)
    screenshot("runs-page-live", of=list_tab)
    assert Run.objects.get(pk=running).status == "cancelled"
    assert csp_watch() == []


def test_create_a_token_and_call_the_api_with_it(signed_in_page, live_web, screenshot,
                                                 csp_watch):
    page, user = signed_in_page(roles=["viewer"], username="tess")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(f"{live_web.url}/console/tokens/")
    expect(page.get_by_text("No active token.")).to_be_visible()
    page.get_by_label("Name").fill("Nightly report")
    page.get_by_label("Expires (UTC)").fill("2099-12-31T12:00")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator(".created-token")).to_contain_text("shown only this once")
    raw = page.locator("#new-token").inner_text()
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == raw
    expect(page.get_by_role("row", name="Nightly report")).to_contain_text("2099-12-31")
    screenshot("token-created")
    request = urllib.request.Request(f"{live_web.url}/api/auth/me/",
                                     headers={"Authorization": f"Token {raw}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.loads(response.read())["username"] == "tess"
    page.reload()
    expect(page.locator("#new-token")).to_have_count(0)
    expect(page.get_by_role("row", name="Nightly report")).not_to_contain_text("never used")
    assert csp_watch() == []
