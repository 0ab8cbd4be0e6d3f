"""Model oversight in Chromium: a reviewer sees why the model said what it said (the
explanation bar chart) in the task view; a viewer without the personal-data permission
sees a run with its personal data masked."""

import pytest
from playwright.sync_api import expect

from apps.approvals.models import Task
from apps.audit.personal import PERSONAL_MASK
from apps.privacy.services import policy_set
from apps.runs import services as runs
from tests.e2e.conftest import sign_in, spaced
from tests.fixtures.runs import flow

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

EXPLANATION = [{"feature": "amount_log10", "contribution": 1.84},
               {"feature": "prior_disputes", "contribution": 1.12},
               {"feature": "bank_account_changed", "contribution": 0.93},
               {"feature": "po_match", "contribution": -0.71},
               {"feature": "vendor_age_years", "contribution": -0.35}]


def _review_flow():
    review = {"title": "Invoice {{ input.number }} for {{ input.email }}",
              "assignee_users": ["rita"],
              "context": [{"label": "Customer", "expression": "input.email", "kind": "text"},
                          {"label": "Model confidence", "expression": "input.confidence",
                           "kind": "confidence"},
                          {"label": "Why the model said this", "expression": "input.why",
                           "kind": "explanation"}]}
    return spaced(flow(("start", "trigger.manual"), ("review", "human.approval", review),
                       ("pay", "core.noop"), ("hold", "core.noop"),
                       edges=[("start", "review"), ("review", "approved", "pay", "in"),
                              ("review", "rejected", "hold", "in")]))


def test_a_reviewer_sees_the_explanation_and_a_viewer_sees_masked_values(
        page, browser, live_web, publish, create_user, screenshot,
        csp_watch):
    rita = create_user(username="rita", roles=["reviewer"])
    workflow = publish(_review_flow())
    run = runs.run_start(workflow=workflow, input={
        "number": "INV-31", "email": "ann@example.com", "confidence": 0.93,
        "why": EXPLANATION})
    task = Task.objects.get(run=run)
    policy_set(workflow=workflow, user=create_user(roles=["admin"]),
               paths=["input.email"], detectors=["email"])

    # The reviewer (no personal-data permission either): the chart, and the e-mail masked.
    sign_in(page, live_web.url, rita)
    page.goto(f"{live_web.url}/inbox/{task.pk}/")
    chart = page.get_by_role("figure", name="Why the model said this")
    expect(chart).to_be_visible()
    expect(chart.locator("rect")).to_have_count(5)
    expect(chart.locator('[data-feature="amount_log10"]')).to_contain_text("+1.84")
    expect(page.get_by_text(f"for {PERSONAL_MASK}").first).to_be_visible()
    expect(page.get_by_text("ann@example.com")).to_have_count(0)
    shot = screenshot("reviewer-explanation")

    # A viewer opens the run: the input's e-mail is masked, the order number is not.
    viewer_context = browser.new_context()
    viewer_page = viewer_context.new_page()
    viewer = create_user(username="vic", roles=["viewer"])
    sign_in(viewer_page, live_web.url, viewer)
    viewer_page.goto(f"{live_web.url}/runs/{run.pk}/")
    expect(viewer_page.get_by_text("INV-31").first).to_be_visible()
    expect(viewer_page.get_by_text(PERSONAL_MASK).first).to_be_visible()
    assert "ann@example.com" not in viewer_page.content()
    viewer_page.screenshot(path=str(shot.parent / "02-viewer-run-masked.png"), full_page=True)
    viewer_context.close()
    assert csp_watch() == []
