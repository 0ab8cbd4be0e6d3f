import pytest
from django.db import connection

from apps.audit.models import AuditEvent
from apps.credentials.models import Credential
from apps.credentials.services import CredentialNotFound, credential_resolve

SECRET = "tok-very-secret-123"


def test_secrets_are_encrypted_at_rest(create_credential):
    credential = create_credential(kind="bearer", secret={"token": SECRET})
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret_encrypted FROM credentials_credential WHERE id = %s",
                       [credential.pk])
        stored = cursor.fetchone()[0]
    assert SECRET not in stored
    assert stored.startswith("gAAAA")
    resolved = credential_resolve(credential_id=credential.pk)
    assert resolved.secret == {"token": SECRET}
    assert SECRET not in repr(resolved)


def test_resolve_records_use_and_unknown_ids_fail(create_credential):
    credential = create_credential()
    credential_resolve(credential_id=str(credential.pk), run_id="run-1", node_id="call")
    actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    assert actions[-2:] == ["credential.create", "credential.use"]
    assert SECRET not in str(list(AuditEvent.objects.values_list("data", flat=True)))
    with pytest.raises(CredentialNotFound):
        credential_resolve(credential_id="00000000-0000-4000-8000-000000000000")
    with pytest.raises(CredentialNotFound):
        credential_resolve(credential_id="not-a-uuid")


def test_rotation_re_encrypts_with_the_new_key(create_credential, settings):
    from cryptography.fernet import Fernet

    credential = create_credential(secret={"token": SECRET})
    old = Credential.objects.get(pk=credential.pk).secret_encrypted
    settings.WEFT_CREDENTIALS_KEYS = [Fernet.generate_key().decode(),
                                      *settings.WEFT_CREDENTIALS_KEYS]
    from apps.credentials.services import credential_rotate_all

    assert credential_rotate_all() == 1
    new = Credential.objects.get(pk=credential.pk).secret_encrypted
    assert new != old
    settings.WEFT_CREDENTIALS_KEYS = settings.WEFT_CREDENTIALS_KEYS[:1]  # only the new key
    assert credential_resolve(credential_id=credential.pk).secret == {"token": SECRET}


def test_admin_manages_and_the_api_never_returns_the_secret(admin_client):
    created = admin_client.post("/api/credentials/", {
        "name": "Billing API", "kind": "api_key", "allowed_hosts": ["billing.example.com"],
        "secret": {"header": "X-Key", "value": SECRET}}, format="json")
    assert created.status_code == 201, created.data
    assert SECRET not in str(created.data)
    assert "secret" not in created.data
    pk = created.data["id"]
    listed = admin_client.get("/api/credentials/")
    assert [c["name"] for c in listed.data["results"]] == ["Billing API"]
    assert SECRET not in str(listed.data)
    detail = admin_client.get(f"/api/credentials/{pk}/")
    assert SECRET not in str(detail.data)
    assert detail.data["kind"] == "api_key"
    changed = admin_client.patch(f"/api/credentials/{pk}/", {
        "name": "Billing", "secret": {"header": "X-Key", "value": "new-value"}}, format="json")
    assert changed.status_code == 200
    assert changed.data["name"] == "Billing"
    assert "new-value" not in str(changed.data)
    assert credential_resolve(credential_id=pk).secret["value"] == "new-value"
    duplicate = admin_client.post("/api/credentials/", {
        "name": "Billing", "kind": "bearer", "secret": {"token": "x"},
        "allowed_hosts": ["x.example.com"]}, format="json")
    assert duplicate.status_code == 409
    assert admin_client.delete(f"/api/credentials/{pk}/").status_code == 204
    assert not Credential.objects.exists()
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"credential.create", "credential.update", "credential.delete"} <= actions


def test_invalid_secrets_name_the_field(admin_client):
    response = admin_client.post("/api/credentials/", {
        "name": "x", "kind": "basic", "secret": {"username": "ann"},
        "allowed_hosts": ["x.example.com"]}, format="json")
    assert response.status_code == 400
    assert "secret.password" in response.data["errors"]


def test_viewers_and_editors_see_names_and_kinds_only(client_for, create_credential):
    credential = create_credential(name="CRM", kind="basic")
    for role in ("viewer", "editor"):
        client = client_for(role)
        listed = client.get("/api/credentials/")
        assert listed.data["results"] == [{"id": str(credential.pk), "name": "CRM",
                                           "kind": "basic"}]
        assert client.post("/api/credentials/", {"name": "y", "kind": "bearer",
                                                 "secret": {"token": "t"}},
                           format="json").status_code == 403
        assert client.delete(f"/api/credentials/{credential.pk}/").status_code == 403
