import pytest

from apps.audit.redaction import REDACTED, redact
from apps.audit.services import audit_record


def test_secret_keys_are_redacted_at_any_depth():
    data = {
        "password": "hunter2", "new-password": "x", "api_key": "k", "apiKey": "k",
        "Authorization": "Token abc", "client_secret": "s", "access_token": "t",
        "token": "t", "credentials": {"user": "u", "pass": "p"}, "private_key": "pem",
        "nested": [{"secret": "s", "note": "fine"}], "token_id": 4, "name": "ok",
        "empty_password": "",
    }
    out = redact(data)
    for key in ("password", "new-password", "api_key", "apiKey", "Authorization",
                "client_secret", "access_token", "token", "credentials", "private_key"):
        assert out[key] == REDACTED, key
    assert out["nested"] == [{"secret": REDACTED, "note": "fine"}]
    assert (out["token_id"], out["name"], out["empty_password"]) == (4, "ok", "")
    assert data["password"] == "hunter2"  # the caller's dict is untouched


def test_secret_looking_values_are_redacted_whatever_their_key():
    out = redact({"header": "Bearer abcdefghijkl", "note": "weft_" + "x" * 30,
                  "pem": "-----BEGIN RSA PRIVATE KEY-----", "ok": "Bearer"})
    assert out == {"header": REDACTED, "note": REDACTED, "pem": REDACTED, "ok": "Bearer"}


@pytest.mark.django_db
def test_configured_personal_fields_are_redacted_in_stored_events(settings):
    settings.WEFT_AUDIT_REDACT_FIELDS = ["email", "Phone-Number"]
    event = audit_record(action="thing.do", data={
        "email": "a@example.com", "phone_number": "123", "password": "p", "city": "Oslo"})
    event.refresh_from_db()
    assert event.data == {"email": REDACTED, "phone_number": REDACTED, "password": REDACTED,
                          "city": "Oslo"}
