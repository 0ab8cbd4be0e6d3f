"""`make run` prints where to sign in with the first admin's password: at the address it
serves, also when WEFT_PORT moves it."""

import io

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_the_first_admin_is_told_the_address_make_run_serves(monkeypatch):
    monkeypatch.setenv("WEFT_PORT", "8123")
    monkeypatch.delenv("WEFT_ADMIN_PASSWORD", raising=False)
    out = io.StringIO()
    call_command("weft_ensure_admin", stdout=out)
    assert "Sign in at http://127.0.0.1:8123/login/" in out.getvalue()
