"""A credential's optional "Requests per second": given, shown and changed through the
API and the console; anything but a number over 0 (or empty, for no limit) is refused
naming the field, changing nothing. What it does to node calls is tested on a real I/O
worker (tests/runs/test_io_limits.py)."""

import pytest

from apps.audit.models import AuditEvent
from apps.credentials.models import Credential
from apps.credentials.services import credential_resolve

pytestmark = pytest.mark.django_db

NEW = {"name": "Billing API", "kind": "bearer", "secret": {"token": "tok-123456"},
       "allowed_hosts": ["billing.example.com"]}


def test_an_admin_sets_changes_and_removes_a_credentials_rate(admin_client):
    created = admin_client.post("/api/credentials/", {**NEW, "requests_per_s": 5},
                                format="json")
    assert created.status_code == 201, created.data
    assert created.data["requests_per_s"] == 5.0
    pk = created.data["id"]
    assert credential_resolve(credential_id=pk).requests_per_s == 5.0
    renamed = admin_client.patch(f"/api/credentials/{pk}/", {"name": "Billing"},
                                 format="json")
    assert renamed.data["requests_per_s"] == 5.0  # not given: kept
    slower = admin_client.patch(f"/api/credentials/{pk}/", {"requests_per_s": 0.5},
                                format="json")
    assert slower.data["requests_per_s"] == 0.5
    removed = admin_client.patch(f"/api/credentials/{pk}/", {"requests_per_s": None},
                                 format="json")
    assert removed.status_code == 200
    assert removed.data["requests_per_s"] is None
    assert Credential.objects.get(pk=pk).requests_per_s is None
    changes = [e.data for e in AuditEvent.objects.filter(action="credential.update")
               .order_by("seq")]
    assert [c["requests_per_s"] for c in changes] == [5.0, 0.5, None]
    assert "requests_per_s" not in changes[0]["changed"]


def test_a_credential_without_a_rate_has_none(admin_client):
    created = admin_client.post("/api/credentials/", NEW, format="json")
    assert created.data["requests_per_s"] is None


@pytest.mark.parametrize("wrong", [0, -1, "fast", "inf", "nan", 1e9, [5], ""])
def test_a_rate_that_is_not_a_number_over_0_is_refused_naming_the_field(admin_client,
                                                                         wrong):
    response = admin_client.post("/api/credentials/", {**NEW, "requests_per_s": wrong},
                                 format="json")
    assert response.status_code == 400, response.data
    assert "requests_per_s" in response.data["errors"]
    assert not Credential.objects.exists()
    credential = admin_client.post("/api/credentials/", {**NEW, "requests_per_s": 2},
                                   format="json").data
    changed = admin_client.patch(f"/api/credentials/{credential['id']}/",
                                 {"requests_per_s": wrong, "name": "Other"}, format="json")
    assert changed.status_code == 400
    assert "requests_per_s" in changed.data["errors"]
    kept = Credential.objects.get(pk=credential["id"])
    assert (kept.name, kept.requests_per_s) == ("Billing API", 2.0)


def test_editors_do_not_see_a_credentials_rate(client_for, create_credential):
    credential = create_credential(requests_per_s=3)
    shown = client_for("editor").get(f"/api/credentials/{credential.pk}/").data
    assert "requests_per_s" not in shown


def test_the_console_form_shows_sets_and_refuses_the_rate(admin_browser, create_credential):
    page = admin_browser.get("/console/credentials/")
    assert b"Requests per second" in page.content
    created = admin_browser.post("/console/credentials/", {
        "name": "CRM", "kind": "bearer", "allowed_hosts": "api.example.com",
        "token": "tok-first-secret", "requests_per_s": "2.5"})
    assert created.status_code == 302
    credential = Credential.objects.get(name="CRM")
    assert credential.requests_per_s == 2.5
    detail = admin_browser.get(f"/console/credentials/{credential.pk}/")
    assert detail.context["form"]["requests_per_s"].value() == 2.5
    refused = admin_browser.post(f"/console/credentials/{credential.pk}/", {
        "name": "CRM", "allowed_hosts": "api.example.com", "requests_per_s": "0"})
    assert refused.status_code == 400
    assert "requests_per_s" in refused.context["form"].errors
    assert Credential.objects.get(pk=credential.pk).requests_per_s == 2.5
    cleared = admin_browser.post(f"/console/credentials/{credential.pk}/", {
        "name": "CRM", "allowed_hosts": "api.example.com", "requests_per_s": ""})
    assert cleared.status_code == 302
    assert Credential.objects.get(pk=credential.pk).requests_per_s is None


def test_an_editor_sees_the_rate_on_the_credentials_page(browser_for, create_credential):
    credential = create_credential(requests_per_s=4)
    page = browser_for("editor").get(f"/console/credentials/{credential.pk}/")
    assert b"Requests per second" in page.content
    assert b"4.0" in page.content
