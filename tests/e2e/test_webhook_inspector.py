"""The webhook trigger's inspector: production and test URLs, "Listen", a request sent to
the test URL whose test run of the draft arrives on the canvas, the signing key revealed
and rotated, and a curl example that signs like the docs say."""

import hashlib
import hmac
import json
import time
import urllib.request

import pytest
from playwright.sync_api import expect

from apps.runs.models import Run
from tests.e2e.conftest import spaced
from tests.fixtures.runs import flow

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _post(url: str, body: bytes, headers: dict) -> int:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def test_send_a_request_to_the_test_url_and_watch_the_run_arrive(
        signed_in_page, create_workflow, open_editor, screenshot):
    page, user = signed_in_page(roles=["editor"])
    graph = spaced(flow(("hook", "trigger.webhook", {"signature_header": "X-Signature"}),
                        ("total", "data.set", {"fields": [{"name": "total",
                                                           "value": "input.amount * 2"}]}),
                        edges=[("hook", "total")]))
    graph["nodes"][0]["name"], graph["nodes"][1]["name"] = "Order received", "Total"
    workflow = create_workflow(user=user, name="Hooked", graph=graph)
    editor = open_editor(page, workflow)
    editor.node("Order received").click()
    panel = page.get_by_role("region", name="Webhook")
    expect(panel.get_by_role("textbox", name="Production URL")).to_have_value(
        __import__("re").compile(r"/hooks/[\w-]+/$"))
    test_url = panel.get_by_role("textbox", name="Test URL").input_value()
    assert "/hooks-test/" in test_url
    expect(panel.get_by_role("textbox", name="Signing key")).to_have_value("•" * 24)
    expect(panel.get_by_label("curl example", exact=True)).to_contain_text('-H "X-Signature: t=$TS,v1=$SIG"')

    panel.get_by_role("button", name="Reveal").click()
    key = panel.get_by_role("textbox", name="Signing key").input_value()
    assert len(key) == 64
    panel.get_by_role("button", name="Listen for a test request").click()
    expect(panel.get_by_role("status")).to_contain_text("Listening for one request")
    screenshot("listening")

    body = json.dumps({"amount": 21}).encode()
    t = int(time.time())
    signature = hmac.new(key.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    assert _post(test_url, body, {"X-Signature": f"t={t},v1={signature}"}) == 202

    expect(editor.node("Total").get_by_role("status")).to_have_text("Succeeded", timeout=15_000)
    expect(page.locator(".run-bar")).to_contain_text("Test run")
    run = Run.objects.get()
    assert (run.mode, run.trigger, run.started_by_id) == ("test", "webhook", user.pk)
    expect(panel.get_by_role("button", name="Listen for a test request")).to_be_visible()
    screenshot("test-run-arrived")

    page.once("dialog", lambda dialog: dialog.accept())
    panel.get_by_role("button", name="Rotate the key").click()
    expect(panel.get_by_role("textbox", name="Signing key")).not_to_have_value(key)
    screenshot("rotated")
