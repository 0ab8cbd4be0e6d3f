import pytest
from django.test import Client

from apps.accounts.models import ApiToken
from tests.fixtures.accounts import PASSWORD

pytestmark = pytest.mark.django_db


def test_token_by_username_or_email_then_use_it(api_client, create_user):
    user = create_user(username="ana", roles=["viewer"])
    by_name = api_client.post("/api/auth/token/", {"username": "ana", "password": PASSWORD},
                              format="json")
    assert by_name.status_code == 201
    by_mail = api_client.post("/api/auth/token/", {"email": user.email, "password": PASSWORD},
                              format="json")
    assert by_mail.status_code == 201
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {by_mail.data['token']}")
    me = api_client.get("/api/auth/me/")
    assert me.status_code == 200
    assert me.data["username"] == "ana"
    assert me.data["effective_roles"] == ["viewer"]
    # the raw token is not stored
    assert not ApiToken.objects.filter(key_hash=by_mail.data["token"]).exists()


def test_wrong_password_is_401_and_creates_no_token(api_client, create_user):
    create_user(username="ben")
    response = api_client.post("/api/auth/token/", {"username": "ben", "password": "nope"},
                               format="json")
    assert response.status_code == 401
    assert response.data["code"] == "invalid_credentials"
    assert ApiToken.objects.count() == 0


def test_token_request_needs_a_login_name(api_client):
    response = api_client.post("/api/auth/token/", {"password": "x"}, format="json")
    assert response.status_code == 400
    assert "username" in response.data["errors"]


def test_tokens_are_listed_and_revoked(client_for, api_client):
    client = client_for("viewer")
    created = client.post("/api/auth/tokens/", {"name": "ci"}, format="json")
    assert created.status_code == 201
    listing = client.get("/api/auth/tokens/")
    assert {t["name"] for t in listing.data["results"]} == {"test", "ci"}
    assert all("token" not in t for t in listing.data["results"])
    assert client.delete(f"/api/auth/tokens/{created.data['id']}/").status_code == 204
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {created.data['token']}")
    refused = api_client.get("/api/auth/me/")
    assert refused.status_code == 401


def test_users_cannot_revoke_each_others_tokens(client_for):
    alice, bob = client_for("editor"), client_for("editor")
    bobs = bob.get("/api/auth/tokens/").data["results"][0]["id"]
    assert alice.delete(f"/api/auth/tokens/{bobs}/").status_code == 404
    assert bob.get("/api/auth/me/").status_code == 200


def test_admin_assigns_roles_and_deactivates(admin_client, client_for):
    target = client_for()
    assert target.get("/api/workflows/").status_code == 403
    response = admin_client.patch(f"/api/users/{target.user.pk}/",
                                  {"roles": ["editor", "reviewer"]}, format="json")
    assert response.status_code == 200
    assert response.data["roles"] == ["editor", "reviewer"]
    assert target.get("/api/workflows/").status_code == 200
    admin_client.patch(f"/api/users/{target.user.pk}/", {"is_active": False}, format="json")
    assert target.get("/api/workflows/").status_code == 401


def test_unknown_role_is_refused(admin_client, create_user):
    user = create_user()
    response = admin_client.patch(f"/api/users/{user.pk}/", {"roles": ["wizard"]},
                                  format="json")
    assert response.status_code == 400
    assert "roles" in response.data["errors"]


def test_login_page_signs_in_and_out(create_user):
    create_user(username="cara", roles=["editor"])
    browser = Client()
    page = browser.get("/login/")
    assert page.status_code == 200
    assert b"Sign in to Weft" in page.content
    wrong = browser.post("/login/", {"username": "cara", "password": "bad"})
    assert b"not right" in wrong.content
    ok = browser.post("/login/", {"username": "cara@example.com", "password": PASSWORD})
    assert ok.status_code == 302
    assert browser.get("/api/workflows/").status_code == 200
    browser.post("/logout/")
    assert browser.get("/api/workflows/").status_code == 401


def test_session_api_writes_need_csrf(create_user, simple_graph):
    create_user(username="dan", roles=["editor"])
    browser = Client(enforce_csrf_checks=True)
    browser.post("/login/", {"username": "dan", "password": PASSWORD,
                             "csrfmiddlewaretoken": _csrf(browser)})
    refused = browser.post("/api/workflows/", {"name": "x"}, content_type="application/json")
    assert refused.status_code == 403
    accepted = browser.post("/api/workflows/", {"name": "x"}, content_type="application/json",
                            headers={"X-CSRFToken": browser.cookies["csrftoken"].value})
    assert accepted.status_code == 201


def _csrf(browser):
    browser.get("/login/")
    return browser.cookies["csrftoken"].value


def test_first_admin_is_created_once(db, settings):
    from apps.accounts.services import first_admin_ensure

    settings.WEFT_FIRST_ADMIN_EMAIL = "boss@example.com"
    settings.WEFT_FIRST_ADMIN_PASSWORD = ""
    admin, password = first_admin_ensure()
    assert password
    assert admin.check_password(password)
    again, second = first_admin_ensure()
    assert again == admin
    assert second is None
