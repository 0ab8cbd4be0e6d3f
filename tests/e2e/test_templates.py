"""The "new workflow" dialog's template gallery: each template with a picture of its
graph and its sample input; "Try it" creates the draft and starts its test run, which
runs on a real worker and the local Triton server up to the approval. "Try it" a second
time makes a second draft, "Support ticket escalation (copy)"."""

import pytest
from playwright.sync_api import expect

from apps.inference.client import auth_headers
from apps.templates import templates_load
from apps.workflows.models import Workflow
from tests.e2e.editor import Editor
from tests.fixtures.accounts import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_try_a_template_from_the_new_workflow_dialog(
    page, live_web_on_worker, triton, create_triton_server, create_user, create_team,
    screenshot,
):
    url = live_web_on_worker
    create_triton_server(name="local", url=f"127.0.0.1:{triton.http_port}", protocol="http",
                         secret_headers=auth_headers("http", triton.access_token),
                         model_names=list(triton.models))
    user = create_user(roles=["editor"])
    create_team(name="Support tier 2", members=[create_user(roles=["reviewer"])])

    page.goto(f"{url}/login/")
    page.get_by_label("Username or e-mail").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/")
    page.goto(f"{url}/workflows/")
    page.get_by_role("button", name="New workflow").click()
    dialog = page.get_by_role("dialog", name="New workflow")
    gallery = dialog.get_by_role("list", name="Templates")
    for template in templates_load():
        card = gallery.locator(f'[data-template="{template.slug}"]')
        expect(card).to_contain_text(template.name)
        expect(card.get_by_role("img", name=f"Graph of {template.name}")).to_be_visible()
    invoice = gallery.locator('[data-template="invoice_review"]')
    expect(invoice.get_by_role("note")).to_contain_text("Billing")  # no such team yet
    ticket = gallery.locator('[data-template="support_ticket_escalation"]')
    ticket.get_by_text("Sample input").click()
    expect(ticket.locator("pre")).to_contain_text("Invoices export fails")
    ticket.get_by_role("button", name="Start from Support ticket escalation").click()
    expect(dialog.get_by_label("Name")).to_have_value("Support ticket escalation")
    screenshot("gallery")

    ticket.get_by_role("button", name="Try Support ticket escalation").click()
    page.wait_for_url("**/editor/**?run=*")
    workflow = Workflow.objects.get(name="Support ticket escalation")
    assert not workflow.versions.exists()  # an ordinary draft
    editor = Editor(page=page, base_url=url, workflow_id=str(workflow.pk))
    expect(editor.node("Urgency").get_by_role("status")).to_have_text("Succeeded",
                                                                      timeout=30_000)
    expect(editor.node("Tier 2 review").get_by_role("status")).to_have_text("Waiting",
                                                                            timeout=30_000)
    screenshot("tried")

    # "Try it" again on the same template: a second draft beside the first, not a refusal.
    page.goto(f"{url}/workflows/")
    page.get_by_role("button", name="New workflow").click()
    dialog = page.get_by_role("dialog", name="New workflow")
    dialog.get_by_role("button", name="Try Support ticket escalation").click()
    page.wait_for_url(lambda u: "?run=" in u and str(workflow.pk) not in u)
    copy = Workflow.objects.get(name="Support ticket escalation (copy)")
    assert not copy.versions.exists()
    assert set(Workflow.objects.filter(deleted_at__isnull=True).values_list(
        "name", flat=True)) >= {"Support ticket escalation", "Support ticket escalation (copy)"}
    expect(page.get_by_label("Workflow name")).to_have_value("Support ticket escalation (copy)")
    editor = Editor(page=page, base_url=url, workflow_id=str(copy.pk))
    expect(editor.node("Urgency").get_by_role("status")).to_have_text("Succeeded",
                                                                      timeout=30_000)
    screenshot("tried-twice")
