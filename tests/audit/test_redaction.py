import base64
import html
import json
import logging
from urllib.parse import quote, quote_plus

import pytest

from apps.audit.redaction import (
    REDACTED,
    SECRET_MASK,
    SecretLogFilter,
    SecretScrubber,
    redact,
    scrub_in_flight,
    secret_scope,
)
from apps.audit.services import audit_record
from apps.credentials.services import credential_resolve


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


def test_secret_values_are_masked_in_every_encoded_form():
    secret = 'p@ss w/"rd+&'
    scrubber = SecretScrubber([secret, "ann:" + secret, "ab"])
    encoded = {
        "raw": f"x{secret}y",
        "url": "https://h/?k=" + quote(secret, safe=""),
        "plus": "k=" + quote_plus(secret),
        "json": json.dumps({"k": secret}),
        "basic": "Basic " + base64.b64encode(f"ann:{secret}".encode()).decode(),
        "html": html.escape(secret),
        secret: ["nested", {"deep": secret}],
    }
    out = scrubber.scrub(encoded)
    text = json.dumps(out)
    for form in (secret, quote(secret, safe=""), quote_plus(secret),
                 json.dumps(secret)[1:-1], base64.b64encode(f"ann:{secret}".encode()).decode(),
                 html.escape(secret)):
        assert form not in text, form
    assert out["raw"] == f"x{SECRET_MASK}y"
    assert out["basic"] == f"Basic {SECRET_MASK}"
    assert out[SECRET_MASK] == ["nested", {"deep": SECRET_MASK}]
    assert scrubber.text("ab is too short to mask") == "ab is too short to mask"
    assert encoded["raw"] == f"x{secret}y"  # the caller's data is untouched


@pytest.mark.django_db
def test_secrets_handed_out_in_a_scope_are_masked_there_and_only_there(create_credential):
    credential = create_credential(kind="basic", secret={"username": "ann",
                                                         "password": "pw-scoped-1"})
    assert scrub_in_flight("pw-scoped-1") == "pw-scoped-1"
    with secret_scope() as scope:
        credential_resolve(credential_id=credential.pk)
        assert scope.text("got pw-scoped-1") == f"got {SECRET_MASK}"
        assert scrub_in_flight({"a": "pw-scoped-1"}) == {"a": SECRET_MASK}
        record = logging.LogRecord("weft", logging.INFO, __file__, 1, "password %s", (
            "pw-scoped-1",), None)
        record.detail = ["pw-scoped-1"]
        assert SecretLogFilter().filter(record)
        assert record.getMessage() == f"password {SECRET_MASK}"
        assert record.detail == [SECRET_MASK]
    assert scrub_in_flight("pw-scoped-1") == "pw-scoped-1"
