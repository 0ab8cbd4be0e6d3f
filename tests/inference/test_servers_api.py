"""Triton servers through the API: CRUD, secrets that never come back, the
audit trail, and a server that is down answering fast."""

from __future__ import annotations

import time

import pytest

from apps.inference.models import TritonServer
from apps.inference.services import triton_resolve, triton_server_connection
from tests.fixtures.live import free_port

SERVERS = "/api/inference/servers/"


def _body(**overrides):
    return {"name": "gpu-1", "url": "https://triton.internal:8000", "protocol": "http",
            "headers": {"x-tenant": "acme"},
            "secret_headers": {"triton-access-token": "s3cret-value"},
            "models": ["ticket_urgency"], **overrides}


def _assert_no_secret(data) -> None:
    assert "s3cret-value" not in str(data)


def test_admin_creates_reads_updates_and_deletes_a_server(admin_client, audit_since):
    created = admin_client.post(SERVERS, _body(), format="json")
    assert created.status_code == 201, created.data
    server_id = created.data["id"]
    assert created.data["secret_headers"] == ["triton-access-token"]
    assert created.data["headers"] == {"x-tenant": "acme"}
    assert created.data["models"] == ["ticket_urgency"]
    _assert_no_secret(created.data)

    listed = admin_client.get(SERVERS)
    assert [s["name"] for s in listed.data["results"]] == ["gpu-1"]
    _assert_no_secret(listed.data)

    patched = admin_client.patch(f"{SERVERS}{server_id}/", {
        "timeout_s": 2.5, "secret_headers": {"triton-access-token": None, "x-api-key": "k2"},
    }, format="json")
    assert patched.status_code == 200, patched.data
    assert patched.data["timeout_s"] == 2.5
    assert patched.data["secret_headers"] == ["x-api-key"]
    assert patched.data["headers"] == {"x-tenant": "acme"}

    assert admin_client.delete(f"{SERVERS}{server_id}/").status_code == 204
    assert not TritonServer.objects.filter(pk=server_id).exists()
    actions = [e.action for e in audit_since() if e.action.startswith("triton_server.")]
    assert actions == ["triton_server.create", "triton_server.update", "triton_server.delete"]
    for event in audit_since():
        _assert_no_secret(event.data)


def test_secrets_are_stored_encrypted_and_sent_to_the_server(admin_client):
    created = admin_client.post(SERVERS, _body(headers={"Authorization": "Bearer abcdefgh1234"}),
                                format="json")
    server = TritonServer.objects.get(pk=created.data["id"])
    # A secret-looking plain header is kept with the secrets.
    assert created.data["headers"] == {}
    assert created.data["secret_headers"] == ["Authorization", "triton-access-token"]
    assert "s3cret-value" not in server.secret_headers_encrypted
    headers = triton_server_connection(server).header_dict
    assert headers == {"Authorization": "Bearer abcdefgh1234",
                       "triton-access-token": "s3cret-value"}


@pytest.mark.parametrize(("field", "value"), [
    ("name", "has spaces"), ("url", "no-port"), ("protocol", "smtp"), ("timeout_s", 0),
    ("headers", {"bad header": "x"}), ("colour", "red"),
])
def test_bad_input_names_the_field(admin_client, field, value):
    response = admin_client.post(SERVERS, _body(**{field: value}), format="json")
    assert response.status_code == 400
    assert field in response.data["errors"], response.data


def test_names_are_unique_and_grpc_urls_need_grpc(admin_client):
    assert admin_client.post(SERVERS, _body(), format="json").status_code == 201
    again = admin_client.post(SERVERS, _body(), format="json")
    assert again.status_code == 400
    assert again.data["errors"]["name"][0].code == "unique"
    mixed = admin_client.post(SERVERS, _body(name="g", url="grpc://t:8001"), format="json")
    assert mixed.status_code == 400
    assert "url" in mixed.data["errors"]


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_a_server_that_is_down_answers_503_fast(client_for, create_triton_server, protocol):
    server = create_triton_server(name="stopped", url=f"127.0.0.1:{free_port()}",
                                  protocol=protocol)
    viewer, editor = client_for("viewer"), client_for("editor")
    for client, method, path, body in (
        (viewer, "get", f"{SERVERS}{server.pk}/models/", None),
        (viewer, "get", f"{SERVERS}{server.pk}/models/echo/", None),
        (editor, "post", f"{SERVERS}{server.pk}/models/echo/infer/", {"inputs": {"int8": 1}}),
    ):
        started = time.monotonic()
        response = getattr(client, method)(path, body, format="json")
        assert time.monotonic() - started < 3
        assert response.status_code == 503, response.data
        assert response.data["code"] == "server_unavailable"
        assert response.data["server"] == "stopped"
        assert "'stopped'" in response.data["detail"]


def test_a_switched_off_server_is_refused_and_not_resolved(client_for, create_triton_server):
    server = create_triton_server(name="off", is_active=False)
    response = client_for("viewer").get(f"{SERVERS}{server.pk}/models/")
    assert (response.status_code, response.data["code"]) == (409, "server_inactive")
    assert triton_resolve("off") is None
    assert triton_resolve("no-such-server") is None


def test_resolve_gives_the_connection_with_secrets(create_triton_server):
    create_triton_server(name="resolved", url="grpc://h:8001", protocol="grpc",
                         secret_headers={"triton-grpc-protocol-triton-access-token": "t"},
                         model_names=["echo"])
    connection = triton_resolve("resolved")
    assert connection is not None
    assert (connection.address, connection.protocol, connection.models) == (
        "h:8001", "grpc", ("echo",))
    assert connection.header_dict == {"triton-grpc-protocol-triton-access-token": "t"}
