"""Each audited action records its event with the actor, the target and the request id."""

import pytest
from django.test import Client

from apps.accounts.models import ApiToken
from tests.fixtures.accounts import PASSWORD

pytestmark = pytest.mark.django_db


def _only(events, action):
    matching = [e for e in events if e.action == action]
    assert len(matching) == 1, [e.action for e in events]
    return matching[0]


def _token_of(client) -> ApiToken:
    return ApiToken.objects.filter(user=client.user).order_by("-pk").first()


def test_sign_in_success_failure_and_sign_out(create_user, audit_since):
    user = create_user(username="sam")
    browser = Client()
    failed = browser.post("/login/", {"username": "sam", "password": "wrong"},
                          HTTP_X_REQUEST_ID="req-failed")
    assert failed.status_code == 200
    assert browser.post("/login/", {"username": "sam", "password": PASSWORD},
                        HTTP_X_REQUEST_ID="req-in").status_code == 302
    assert browser.post("/logout/", HTTP_X_REQUEST_ID="req-out").status_code == 302
    events = audit_since()
    failure = _only(events, "auth.login_failed")
    assert (failure.actor_type, failure.target_id, failure.request_id) == (
        "anonymous", str(user.pk), "req-failed")
    assert failure.data["username"] == "sam"
    assert "password" not in failure.data
    login = _only(events, "auth.login")
    assert (login.actor_type, login.user_id, login.actor_label, login.request_id) == (
        "user", user.pk, "sam", "req-in")
    logout = _only(events, "auth.logout")
    assert (logout.user_id, logout.request_id) == (user.pk, "req-out")


def test_failed_token_request_is_recorded(api_client, create_user, audit_since):
    create_user(username="tia")
    api_client.post("/api/auth/token/", {"username": "nobody", "password": "x"}, format="json")
    failure = _only(audit_since(), "auth.login_failed")
    assert failure.data["known_user"] is False
    assert failure.target_type == ""


def test_token_create_and_revoke(client_for, audit_since):
    client = client_for("viewer")
    acting = _token_of(client)
    created = client.post("/api/auth/tokens/", {"name": "ci"}, format="json",
                          HTTP_X_REQUEST_ID="req-tok")
    client.delete(f"/api/auth/tokens/{created.data['id']}/", HTTP_X_REQUEST_ID="req-rev")
    events = audit_since()
    create = [e for e in events if e.action == "token.create"][-1]
    assert (create.actor_type, create.actor_id, create.user_id) == (
        "token", str(acting.pk), client.user.pk)
    assert (create.target_type, create.target_id, create.request_id) == (
        "apitoken", str(created.data["id"]), "req-tok")
    assert created.data["token"] not in str(create.data)
    revoke = _only(events, "token.revoke")
    assert (revoke.actor_id, revoke.target_id, revoke.request_id) == (
        str(acting.pk), str(created.data["id"]), "req-rev")


def test_user_create_roles_and_deactivate_by_an_admin(admin_client, audit_since):
    created = admin_client.post("/api/users/", {"username": "newbie", "password": "s3cret-pass!",
                                                "roles": ["viewer"], "email": "n@example.com"},
                                format="json", HTTP_X_REQUEST_ID="req-user")
    user_id = str(created.data["id"])
    admin_client.patch(f"/api/users/{user_id}/", {"roles": ["editor"]}, format="json")
    admin_client.patch(f"/api/users/{user_id}/", {"is_active": False}, format="json")
    admin_client.patch(f"/api/users/{user_id}/", {"is_active": True}, format="json")
    events = audit_since()
    create = _only(events, "user.create")
    assert (create.actor_type, create.user_id, create.target_id, create.target_label,
            create.request_id) == ("token", admin_client.user.pk, user_id, "newbie", "req-user")
    assert "s3cret" not in str(create.data)
    changes = [e for e in events if e.action == "user.roles_change"]
    assert [(e.data["from"], e.data["to"]) for e in changes] == [([], ["viewer"]),
                                                                 (["viewer"], ["editor"])]
    assert _only(events, "user.deactivate").target_id == user_id
    assert _only(events, "user.reactivate").user_id == admin_client.user.pk


def test_every_workflow_action(editor_client, simple_graph, audit_since):
    headers = {"HTTP_X_REQUEST_ID": "req-wf"}
    created = editor_client.post("/api/workflows/", {"name": "Invoices", "graph": simple_graph},
                                 format="json", **headers).data
    wid = created["id"]
    editor_client.patch(f"/api/workflows/{wid}/", {"name": "Invoices 2", "graph": simple_graph,
                                                   "revision": created["revision"]},
                        format="json", **headers)
    editor_client.post(f"/api/workflows/{wid}/publish/", {"note": "first"}, format="json",
                       **headers)
    editor_client.post(f"/api/workflows/{wid}/versions/1/restore/", format="json", **headers)
    exported = editor_client.get(f"/api/workflows/{wid}/export/", **headers).data
    imported = editor_client.post("/api/workflows/import/", exported, format="json",
                                  **headers).data
    editor_client.delete(f"/api/workflows/{wid}/", **headers)
    events = audit_since()
    token = _token_of(editor_client)
    expected = {
        "workflow.create": (wid, {"name": "Invoices"}),
        "workflow.update": (wid, {"changed": ["graph", "name", "revision"], "revision": 2}),
        "workflow.publish": (wid, {"version": 1, "note": "first"}),
        "workflow.restore": (wid, {"version": 1, "revision": 3}),
        "workflow.export": (wid, {}),
        # imported beside its original: named a copy (names are unique)
        "workflow.import": (imported["id"], {"name": "Invoices 2 (copy)", "nodes": 2}),
        "workflow.delete": (wid, {}),
    }
    for action, (target_id, data) in expected.items():
        event = _only(events, action)
        assert (event.actor_type, event.actor_id, event.user_id) == (
            "token", str(token.pk), editor_client.user.pk), action
        assert (event.target_type, event.target_id, event.request_id) == (
            "workflow", target_id, "req-wf"), action
        assert event.data == data, action
    assert _only(events, "workflow.update").target_label == "Invoices 2"


def test_a_refused_action_records_nothing(editor_client, audit_since):
    bad = {"nodes": [], "edges": []}
    created = editor_client.post("/api/workflows/", {"name": "Empty", "graph": bad},
                                 format="json").data
    response = editor_client.post(f"/api/workflows/{created['id']}/publish/", {}, format="json")
    assert response.status_code == 400
    assert [e.action for e in audit_since()] == ["workflow.create"]


def test_secrets_in_a_login_attempt_never_reach_the_log(api_client, audit_since):
    api_client.post("/api/auth/token/", {"username": "x", "password": "topsecret"},
                    format="json")
    (event,) = audit_since()
    assert "topsecret" not in str(event.data)
    assert set(event.data) == {"username", "known_user", "ip", "user_agent"}
