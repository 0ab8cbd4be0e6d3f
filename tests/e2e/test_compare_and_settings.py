"""In Chromium: compare two versions on the canvas; set a variable on its page and read
it in an expression; create a credential on its page, pick it in an HTTP node and test
it; add a Triton-like server that is down and see the page say so."""

import pytest
from playwright.sync_api import expect

from apps.runs.models import NodeRun, Run
from apps.workflows.services import workflow_publish
from tests.e2e.conftest import spaced
from tests.fixtures.runs import flow

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_compare_two_versions_on_the_canvas(signed_in_page, live_web, create_workflow,
                                            open_editor, screenshot, csp_watch):
    page, user = signed_in_page(roles=["editor"])
    one = spaced(flow(("start", "trigger.manual"),
                      ("total", "data.set", {"fields": [{"name": "total", "value": "1"}]}),
                      ("old", "core.noop"), edges=[("start", "total"), ("total", "old")]))
    workflow = create_workflow(user=user, name="Compare me", graph=one)
    workflow_publish(workflow=workflow, user=user)
    two = spaced(flow(("start", "trigger.manual"),
                      ("total", "data.set", {"fields": [{"name": "total", "value": "2"}]}),
                      ("new", "core.noop"), edges=[("start", "total"), ("total", "new")]))
    workflow.graph = two
    workflow.save()
    workflow_publish(workflow=workflow, user=user)
    editor = open_editor(page, workflow)
    page.get_by_role("tab", name="Versions").click()
    panel = page.get_by_role("region", name="Compare versions")
    panel.get_by_label("Compare from").select_option("1")
    panel.get_by_label("Compare to").select_option("2")
    panel.get_by_role("button", name="Compare").click()
    expect(page.locator(".viewing-banner")).to_contain_text("Comparing version 1 → version 2")
    expect(editor.node("new").locator(".weft-node")).to_have_class(
        __import__("re").compile(r"\bdiff-added\b"))
    expect(editor.node("old").locator(".weft-node")).to_have_class(
        __import__("re").compile(r"\bdiff-removed\b"))
    expect(editor.node("total").locator(".weft-node")).to_have_class(
        __import__("re").compile(r"\bdiff-changed\b"))
    differences = page.get_by_role("region", name="Differences")
    expect(differences).to_contain_text("config.fields[0].value")
    expect(differences.locator("td.before").first).to_have_text("1")
    expect(differences.locator("td.after").first).to_have_text("2")
    expect(differences).to_contain_text("Restore version 1")
    screenshot("compare")
    assert csp_watch() == []


def test_a_variable_set_on_its_page_is_read_in_an_expression(signed_in_page, live_web,
                                                             publish, screenshot, api_token):
    page, user = signed_in_page(roles=["editor"])
    page.goto(f"{live_web.url}/console/variables/")
    expect(page.get_by_text("No variables yet.")).to_be_visible()
    page.get_by_label("Name").fill("my region")
    page.get_by_label("Value").fill("eu-west")
    page.get_by_role("button", name="Add variable").click()
    expect(page.locator(".error")).to_contain_text("vars.NAME")
    page.get_by_label("Name").fill("region")
    page.get_by_role("button", name="Add variable").click()
    expect(page.locator(".flash")).to_contain_text("vars.region")
    screenshot("variable-added")
    workflow = publish(flow(("start", "trigger.manual"), ("where", "data.set", {"fields": [
        {"name": "where", "value": "vars.region + '/' + input.id"}]}),
        edges=[("start", "where")]), user=user)
    import json
    import urllib.request

    request = urllib.request.Request(
        f"{live_web.url}/api/workflows/{workflow.pk}/runs/",
        data=json.dumps({"input": {"id": "7"}}).encode(), method="POST",
        headers={"Content-Type": "application/json",
                 "Authorization": f"Token {api_token(user)}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        run_id = json.loads(response.read())["id"]
    assert NodeRun.objects.get(run_id=run_id, node_id="where").outputs["out"] == {
        "where": "eu-west/7"}
    page.goto(f"{live_web.url}/runs/{run_id}/")
    expect(page.get_by_label("Variables")).to_contain_text('"region": "eu-west"')
    screenshot("run-keeps-the-values")
    assert Run.objects.get(pk=run_id).vars == {"region": "eu-west"}


def test_a_credential_created_on_its_page_is_picked_in_an_http_node(
        signed_in_page, live_web, create_workflow, open_editor, screenshot, csp_watch):
    page, user = signed_in_page(roles=["admin"])
    page.goto(f"{live_web.url}/console/credentials/")
    form = page.get_by_role("region", name="Add a credential")
    form.get_by_label("Name", exact=True).fill("CRM API")
    form.get_by_label("Kind").select_option("bearer")
    expect(form.get_by_label("User name")).to_be_hidden()  # the basic kind's fields
    form.get_by_label("Token").fill("tok-e2e-secret")
    form.get_by_label("Allowed hosts").fill("api.crm.example.com")
    screenshot("new-credential")
    form.get_by_role("button", name="Add credential").click()
    expect(page.get_by_role("heading", name="Credential CRM API")).to_be_visible()
    expect(page.get_by_role("region", name="Used by")).to_contain_text("No workflow uses it")
    assert "tok-e2e-secret" not in page.content()
    workflow = create_workflow(user=user, name="CRM sync", graph=spaced(flow(
        ("start", "trigger.manual"),
        ("call", "http.request", {"url": "https://api.crm.example.com/x", "method": "GET"}),
        edges=[("start", "call")])))
    editor = open_editor(page, workflow)
    editor.select("call")
    picker = editor.side_panel.get_by_label("Credential")
    expect(editor.side_panel.get_by_role("link", name="See and manage credentials")).to_have_attribute(
        "href", "/console/credentials/")
    picker.select_option(label="CRM API (bearer)")
    editor.expect_saved()
    screenshot("picked-in-node")
    page.goto(f"{live_web.url}/console/credentials/")
    page.get_by_role("link", name="CRM API").click()
    expect(page.get_by_role("region", name="Used by")).to_contain_text("CRM sync")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete credential").click()
    expect(page.locator(".flash")).to_contain_text("is used by 1 workflow: CRM sync")
    screenshot("delete-refused")
    assert csp_watch() == []


def test_names_with_direction_overrides_stay_in_their_place(signed_in_page, live_web,
                                                           create_workflow, screenshot):
    page, user = signed_in_page(roles=["editor"])
    create_workflow(user=user, name="Report\u202efdp.exe")
    create_workflow(user=user, name="Payroll")
    page.goto(f"{live_web.url}/workflows/")
    names = page.locator(".wf-name")
    expect(names).to_have_count(2)
    assert {names.nth(i).evaluate("e => getComputedStyle(e).unicodeBidi") for i in range(2)} \
        == {"isolate"}
    screenshot("workflow-list")
    page.goto(f"{live_web.url}/")
    recent = page.get_by_role("region", name="Recently edited workflows")
    assert recent.locator(".name").first.evaluate(
        "e => getComputedStyle(e).unicodeBidi") == "isolate"
