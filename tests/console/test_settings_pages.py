"""The console pages that put credentials, tokens and variables in the browser:
create, edit, delete and test, each refused with a reason where it must be."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import ApiToken
from apps.credentials.crypto import decrypt_secret
from apps.credentials.models import Credential
from apps.variables.models import Variable
from tests.fixtures.runs import flow

pytestmark = pytest.mark.django_db


# --- Tokens ---------------------------------------------------------------------------

def test_anyone_with_a_role_creates_a_named_token_shown_once_and_calls_the_api(browser_for):
    browser = browser_for("viewer")
    expiry = (timezone.now() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    page = browser.post("/console/tokens/", {"name": "CRM sync", "expires_at": expiry},
                        follow=True)
    assert page.status_code == 200
    raw = page.context["raw"]
    assert raw.encode() in page.content
    assert b"shown only this once" in page.content
    token = ApiToken.objects.get(user=browser.user)
    assert token.name == "CRM sync"
    assert token.expires_at is not None
    assert raw.encode() not in browser.get("/console/tokens/").content  # once only
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    assert api.get("/api/auth/me/").data["username"] == browser.user.username
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_viewer_sees_only_their_own_tokens(browser_for, create_user):
    from apps.accounts.services import token_create

    token_create(user=create_user(username="someone-else"), name="theirs")
    browser = browser_for("viewer")
    token_create(user=browser.user, name="mine")
    page = browser.get("/console/tokens/").content
    assert b"mine" in page
    assert b"theirs" not in page
    other = ApiToken.objects.get(name="theirs")
    assert browser.post(f"/console/tokens/{other.pk}/revoke/").status_code == 404


@pytest.mark.parametrize(("form", "field"), [({"name": " "}, "name"),
                                             ({"name": "x", "expires_at": "yesterday"},
                                              "expires_at"),
                                             ({"name": "x", "expires_at": "2001-01-01T00:00"},
                                              "expires_at")])
def test_a_token_without_a_name_or_with_a_past_expiry_is_refused(browser_for, form, field):
    browser = browser_for("editor")
    page = browser.post("/console/tokens/", form)
    assert page.status_code == 400
    assert page.context["form"].errors[field]
    assert not ApiToken.objects.filter(user=browser.user).exists()


def test_an_expired_token_is_refused_with_a_reason(client_for):
    client = client_for("viewer")
    ApiToken.objects.filter(user=client.user).update(
        expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get("/api/auth/me/")
    assert response.status_code == 401
    assert "expired" in response.data["detail"]


def test_the_api_creates_a_token_with_an_expiry_and_refuses_a_past_one(editor_client):
    later = (timezone.now() + timedelta(days=1)).isoformat()
    made = editor_client.post("/api/auth/tokens/", {"name": "ci", "expires_at": later},
                              format="json")
    assert made.status_code == 201
    assert made.data["expires_at"]
    past = editor_client.post("/api/auth/tokens/", {"name": "ci", "expires_at":
                                                    "2001-01-01T00:00:00Z"}, format="json")
    assert past.status_code == 400
    assert "expires_at" in past.data["errors"]


# --- Credentials ----------------------------------------------------------------------

def test_an_admin_creates_a_credential_replaces_its_secret_and_never_sees_it(admin_browser):
    created = admin_browser.post("/console/credentials/", {
        "name": "CRM", "kind": "bearer", "allowed_hosts": "api.example.com",
        "token": "tok-first-secret"})
    assert created.status_code == 302
    credential = Credential.objects.get(name="CRM")
    page = admin_browser.get(f"/console/credentials/{credential.pk}/")
    assert b"tok-first-secret" not in page.content
    kept = admin_browser.post(f"/console/credentials/{credential.pk}/", {
        "name": "CRM", "allowed_hosts": "api.example.com", "description": "CRM API"})
    assert kept.status_code == 302
    assert decrypt_secret(Credential.objects.get(pk=credential.pk).secret_encrypted) == {
        "token": "tok-first-secret"}  # empty secret fields keep the secret
    admin_browser.post(f"/console/credentials/{credential.pk}/", {
        "name": "CRM", "allowed_hosts": "api.example.com", "token": "tok-second"})
    assert decrypt_secret(Credential.objects.get(pk=credential.pk).secret_encrypted) == {
        "token": "tok-second"}


def test_a_credential_without_its_secret_or_hosts_is_refused_naming_the_field(admin_browser):
    page = admin_browser.post("/console/credentials/", {"name": "Bad", "kind": "basic",
                                                         "allowed_hosts": "a.example.com"})
    assert page.status_code == 400
    assert "username" in page.context["form"].errors
    page = admin_browser.post("/console/credentials/", {"name": "Bad", "kind": "bearer",
                                                         "token": "t", "allowed_hosts": "x/y"})
    assert page.status_code == 400
    assert "allowed_hosts" in page.context["form"].errors
    assert not Credential.objects.exists()


def test_deleting_a_credential_a_workflow_uses_is_refused_naming_it(
        admin_browser, create_credential, create_workflow, admin_client):
    credential = create_credential(name="Billing API")
    graph = flow(("start", "trigger.manual"),
                 ("call", "http.request", {"url": "https://127.0.0.1/x", "method": "GET",
                                           "credential": str(credential.pk)}),
                 edges=[("start", "call")])
    workflow = create_workflow(name="Invoice sync", graph=graph)
    page = admin_browser.post(f"/console/credentials/{credential.pk}/delete/", follow=True)
    assert b"Invoice sync" in page.content
    assert Credential.objects.filter(pk=credential.pk).exists()
    api = admin_client.delete(f"/api/credentials/{credential.pk}/")
    assert api.status_code == 409
    assert api.data["code"] == "in_use"
    assert api.data["workflows"] == [{"id": str(workflow.pk), "name": "Invoice sync"}]
    workflow.graph = flow(("start", "trigger.manual"))
    workflow.save()
    assert admin_browser.post(f"/console/credentials/{credential.pk}/delete/").status_code == 302
    assert not Credential.objects.filter(pk=credential.pk).exists()


def test_testing_a_credential_sends_it_and_says_what_came_back(
        admin_browser, create_credential, http_receiver, settings, audit_since):
    settings.WEFT_HTTP_ALLOW_HOSTS = ["127.0.0.1/32"]
    receiver = http_receiver()
    credential = create_credential(secret={"token": "tok-probe-1"})
    accepted = admin_browser.post(f"/console/credentials/{credential.pk}/test/",
                                  {"url": f"{receiver.url}/echo"})
    assert accepted.context["result"].ok
    assert b"HTTP 200" in accepted.content
    assert receiver.seen[-1]["headers"]["Authorization"] == "Bearer tok-probe-1"
    assert b"tok-probe-1" not in accepted.content
    refused = admin_browser.post(f"/console/credentials/{credential.pk}/test/",
                                 {"url": f"{receiver.url}/deny"})
    assert not refused.context["result"].ok
    assert b"HTTP 401" in refused.content
    elsewhere = admin_browser.post(f"/console/credentials/{credential.pk}/test/",
                                   {"url": "https://other.example.com/"})
    assert not elsewhere.context["result"].ok
    assert b"may not be sent to" in elsewhere.content
    assert len(receiver.seen) == 2
    assert [e.data["ok"] for e in audit_since(action="credential.test")] == [True, False, False]


def test_an_editor_sees_credentials_but_cannot_change_them(browser_for, create_credential):
    credential = create_credential(name="Shared")
    browser = browser_for("editor")
    page = browser.get("/console/credentials/")
    assert b"Shared" in page.content
    assert b"Add a credential" not in page.content
    assert browser.post(f"/console/credentials/{credential.pk}/delete/").status_code == 403
    assert Credential.objects.filter(pk=credential.pk).exists()


# --- Variables ------------------------------------------------------------------------

def test_an_editor_adds_edits_and_deletes_a_variable_on_its_page(browser_for, audit_since):
    browser = browser_for("editor")
    assert browser.post("/console/variables/", {"name": "region",
                                                "value": "eu-west"}).status_code == 302
    variable = Variable.objects.get(name="region")
    bad = browser.post("/console/variables/", {"name": "my region", "value": "x"})
    assert bad.status_code == 400
    assert bad.context["form"].errors["name"]
    taken = browser.post("/console/variables/", {"name": "REGION", "value": "x"})
    assert taken.status_code == 400
    assert taken.context["form"].errors["name"]
    assert browser.post(f"/console/variables/{variable.pk}/", {
        "name": "region", "value": "us-east"}).status_code == 302
    assert b"us-east" in browser.get("/console/variables/").content
    assert browser.post(f"/console/variables/{variable.pk}/delete/").status_code == 302
    assert not Variable.objects.exists()
    assert [e.action for e in audit_since(action__startswith="variable.")] == [
        "variable.create", "variable.update", "variable.delete"]
