"""Every credential names the hosts it may be sent to: the API, the rules for entries,
and what the migration gives credentials that existed before."""

from importlib import import_module

import pytest
from django.apps import apps

from apps.credentials.hosts import host_allowed, host_entries_clean
from apps.credentials.models import Credential
from apps.credentials.services import credential_resolve
from apps.workflows.services import workflow_publish
from tests.fixtures.runs import flow

pytestmark = pytest.mark.django_db


def test_new_credentials_must_name_their_hosts(admin_client):
    missing = admin_client.post("/api/credentials/", {
        "name": "x", "kind": "bearer", "secret": {"token": "t-123456"}}, format="json")
    assert missing.status_code == 400
    assert "allowed_hosts" in missing.data["errors"]
    empty = admin_client.post("/api/credentials/", {
        "name": "x", "kind": "bearer", "secret": {"token": "t-123456"}, "allowed_hosts": []},
        format="json")
    assert empty.status_code == 400
    assert "allowed_hosts" in empty.data["errors"]
    bad = admin_client.post("/api/credentials/", {
        "name": "x", "kind": "bearer", "secret": {"token": "t-123456"},
        "allowed_hosts": ["api.example.com", "https://api.example.com/v1"]}, format="json")
    assert bad.status_code == 400
    assert "host name" in str(bad.data["errors"]["allowed_hosts[1]"])
    assert not Credential.objects.exists()


def test_hosts_are_stored_shown_and_changed(admin_client):
    created = admin_client.post("/api/credentials/", {
        "name": "CRM", "kind": "bearer", "secret": {"token": "t-123456"},
        "allowed_hosts": ["API.Example.com.", "*.crm.example.com", "10.0.0.5:8443",
                          "api.example.com"]}, format="json")
    assert created.status_code == 201, created.data
    assert created.data["allowed_hosts"] == ["api.example.com", "*.crm.example.com",
                                             "10.0.0.5:8443"]
    assert created.data["any_host"] is False
    pk = created.data["id"]
    changed = admin_client.patch(f"/api/credentials/{pk}/", {"allowed_hosts": ["*"]},
                                 format="json")
    assert changed.status_code == 200
    assert (changed.data["allowed_hosts"], changed.data["any_host"]) == (["*"], True)
    refused = admin_client.patch(f"/api/credentials/{pk}/", {"allowed_hosts": []},
                                 format="json")
    assert refused.status_code == 400
    assert credential_resolve(credential_id=pk).allowed_hosts == ("*",)


def test_host_rules():
    assert host_entries_clean(["[::1]:8080", "Example.COM"]) == ["[::1]:8080", "example.com"]
    entries = ["api.example.com", "*.example.org", "10.0.0.5:8443"]
    assert host_allowed(entries, host="API.example.com", port=443)
    assert host_allowed(entries, host="a.b.example.org", port=80)
    assert not host_allowed(entries, host="example.org", port=80)
    assert not host_allowed(entries, host="evilexample.org", port=80)
    assert host_allowed(entries, host="10.0.0.5", port=8443)
    assert not host_allowed(entries, host="10.0.0.5", port=443)
    assert not host_allowed(entries, host="api.example.com.evil.net", port=443)
    assert not host_allowed([], host="api.example.com", port=443)
    assert host_allowed(["*"], host="anything.example", port=1)
    for bad in ("", "a b", "host:0", "host:99999", "user@host", "*.", "http://x"):
        with pytest.raises(ValueError):
            host_entries_clean([bad])


def test_the_migration_gives_existing_credentials_the_hosts_their_workflows_use(
        create_credential, create_workflow, create_user):
    fill = import_module("apps.credentials.migrations.0002_allowed_hosts").fill_allowed_hosts
    used = create_credential(name="used", allowed_hosts=["*"])
    dynamic = create_credential(name="dynamic", allowed_hosts=["*"])
    create_credential(name="unused")
    create_credential(name="kept", allowed_hosts=["already.example.com"])
    user = create_user(roles=["editor"])

    def http(node_id, url, credential):
        return (node_id, "http.request", {"url": url, "credential": str(credential.pk)})

    published = create_workflow(user=user, graph=flow(
        ("start", "trigger.manual"),
        http("a", "https://api.example.com/v1/{{ input.id }}", used),
        http("b", "http://billing.example.com:8080/x", used),
        http("c", "https://{{ input.host }}/x", dynamic),
        edges=[("start", "a"), ("start", "b"), ("start", "c")]))
    workflow_publish(workflow=published, user=user)
    create_workflow(user=user, graph=flow(("start", "trigger.manual"),
                                          http("d", "https://draft.example.com/", used),
                                          edges=[("start", "d")]))
    # As they were before the field existed:
    Credential.objects.exclude(name="kept").update(allowed_hosts=[])
    fill(apps, None)
    hosts = dict(Credential.objects.values_list("name", "allowed_hosts"))
    assert hosts == {"used": ["api.example.com", "billing.example.com:8080",
                              "draft.example.com"],
                     "dynamic": ["*"], "unused": ["*"], "kept": ["already.example.com"]}
