"""`weft_register_triton` (run by `make run`): idempotent, token kept secret."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from apps.inference.models import TritonServer
from apps.inference.services import triton_url_parse


@pytest.mark.parametrize(("url", "expected"), [
    ("triton:8001", ("triton:8001", "grpc")),
    ("triton:8000", ("triton:8000", "http")),
    ("grpc://triton:9000", ("triton:9000", "grpc")),
    ("http://triton:9000", ("triton:9000", "http")),
    ("https://triton.example:443", ("https://triton.example:443", "http")),
])
def test_triton_url_parse(url, expected):
    assert triton_url_parse(url) == expected


def test_registering_twice_updates_the_one_row(db, monkeypatch, audit_since):
    monkeypatch.setenv("WEFT_TRITON_ACCESS_TOKEN", "first-token")
    out = io.StringIO()
    call_command("weft_register_triton", url="127.0.0.1:8010", protocol="http",
                 models="echo,ticket_urgency", stdout=out)
    assert "registered" in out.getvalue()
    monkeypatch.setenv("WEFT_TRITON_ACCESS_TOKEN", "second-token")
    call_command("weft_register_triton", url="127.0.0.1:8010", protocol="http",
                 models="echo", stdout=out)
    (server,) = TritonServer.objects.filter(name="local")
    assert server.secret_headers == {"triton-access-token": "second-token"}
    assert server.model_names == ["echo"]
    events = audit_since(action__startswith="triton_server.")
    assert [e.actor_type for e in events] == ["system", "system"]
    assert "-token'" not in str([e.data for e in events])  # neither token value


def test_registering_needs_a_url(db, monkeypatch):
    monkeypatch.delenv("TRITON_URL", raising=False)
    with pytest.raises(Exception, match="TRITON_URL"):
        call_command("weft_register_triton")
