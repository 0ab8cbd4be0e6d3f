"""The model version page draws its charts (Chart.js from the bundle, under the
Content-Security-Policy) and the alert list acknowledges an alert, in Chromium."""

from __future__ import annotations

import pytest

from apps.oversight.alerts import model_versions_check
from apps.oversight.models import Alert, AlertRule, ModelVersion, RuleKind
from apps.oversight.rollup import model_hours_rollup
from apps.oversight.synthetic import model_calls_generate

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_model_page_draws_its_charts_and_the_alert_list_acknowledges(
        signed_in_page, live_web, screenshot):
    model_calls_generate(versions=[("local", "invoice_risk", "1")], calls=20_000, days=8,
                         drift_risky=0.8)
    model_hours_rollup()
    version = ModelVersion.objects.get(model="invoice_risk")
    AlertRule.objects.create(version=version, name="invoice drift", kind=RuleKind.DRIFT)
    assert model_versions_check() == 1

    page, _user = signed_in_page(roles=["editor"])
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_web.url}/console/models/")
    row = page.locator("table.models-list tbody tr").first
    assert "invoice_risk" in row.inner_text()
    assert "drift" in row.inner_text()
    screenshot("models-list")
    row.get_by_role("link", name="invoice_risk").click()
    page.wait_for_selector("#model-charts[data-state=drawn]")
    for chart in ("calls", "latency", "confidence", "labels"):
        box = page.locator(f"#chart-{chart}").bounding_box()
        assert box is not None, chart
        assert box["height"] > 100, chart
    screenshot("model-version")
    assert not [e for e in errors if "Content Security Policy" in e], errors

    page.goto(f"{live_web.url}/console/models/alerts/")
    assert "invoice drift" in page.locator("table.alerts-list").inner_text()
    page.get_by_role("button", name="Acknowledge").click()
    page.wait_for_selector("text=acknowledged by")
    screenshot("alerts")
    assert Alert.objects.get().status == "acknowledged"
