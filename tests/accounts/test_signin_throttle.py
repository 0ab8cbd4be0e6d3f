"""Sign-in is throttled per account and per client address (django-axes, attempts kept
in PostgreSQL), on the login page and POST /api/auth/token/ alike; admins unlock."""

import pytest
from axes.models import AccessAttempt
from django.test import Client

from apps.audit.models import AuditEvent
from tests.fixtures.accounts import PASSWORD

pytestmark = pytest.mark.django_db

MESSAGE = "Too many sign-in attempts; try again in 15 minutes."


@pytest.fixture(autouse=True)
def _small_limit(settings):
    settings.AXES_FAILURE_LIMIT = 3


def _page_login(login, password, *, peer="198.51.100.10", forwarded=None):
    extra = {"REMOTE_ADDR": peer}
    if forwarded:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    browser = Client(**extra)
    return browser, browser.post("/login/", {"username": login, "password": password})


def _api_login(api_client, login, password, *, peer="198.51.100.10"):
    return api_client.post("/api/auth/token/", {"username": login, "password": password},
                           format="json", REMOTE_ADDR=peer)


def test_the_login_page_locks_an_account_after_repeated_failures(create_user):
    create_user(username="eve")
    for _ in range(3):
        _page_login("eve", "wrong")
    browser, response = _page_login("eve", PASSWORD)  # even the right password now
    assert response.status_code == 429
    assert MESSAGE in response.content.decode()
    assert int(response["Retry-After"]) == 15 * 60
    assert browser.get("/api/auth/me/").status_code in (401, 403)
    # the count lives in PostgreSQL, not in a cache that can vanish
    assert AccessAttempt.objects.filter(username="eve").exists()


def test_the_api_answers_429_with_retry_after(api_client, create_user):
    create_user(username="fay")
    assert [_api_login(api_client, "fay", "wrong").status_code for _ in range(3)] == [
        401, 401, 429]
    locked = _api_login(api_client, "fay", PASSWORD)
    assert locked.status_code == 429
    assert locked.json() == {"code": "too_many_attempts", "detail": MESSAGE,
                             "retry_after": 900}
    assert locked["Retry-After"] == "900"


def test_an_account_is_locked_whatever_address_the_attempts_come_from(api_client,
                                                                      create_user):
    create_user(username="gus")
    for i in range(3):
        _api_login(api_client, "gus", "wrong", peer=f"203.0.113.{i + 1}")
    assert _api_login(api_client, "gus", PASSWORD, peer="203.0.113.99").status_code == 429


def test_the_name_and_the_address_of_one_account_count_together(create_user):
    create_user(username="hal", email="Hal@Example.com")
    _page_login("hal", "wrong", peer="203.0.113.1")
    _page_login("hal@example.com", "wrong", peer="203.0.113.2")
    _page_login("HAL@EXAMPLE.COM", "wrong", peer="203.0.113.3")
    _, response = _page_login("hal", PASSWORD, peer="203.0.113.4")
    assert response.status_code == 429


def test_one_address_is_locked_across_accounts_and_forged_headers(create_user):
    for name in ("ian", "jon", "kim", "lea"):
        create_user(username=name)
    for i, name in enumerate(("ian", "jon", "kim")):
        _page_login(name, "wrong", forwarded=f"192.0.2.{i}")
    _, response = _page_login("lea", PASSWORD, forwarded="192.0.2.200")
    assert response.status_code == 429
    # another address is not affected
    _, elsewhere = _page_login("lea", PASSWORD, peer="198.51.100.77")
    assert elsewhere.status_code == 302


def test_a_success_before_the_limit_forgets_the_failures(create_user):
    create_user(username="max")
    for _ in range(2):
        _page_login("max", "wrong")
    assert _page_login("max", PASSWORD)[1].status_code == 302
    for _ in range(2):
        _page_login("max", "wrong")
    assert _page_login("max", PASSWORD)[1].status_code == 302


def test_an_admin_sees_and_clears_a_lockout(admin_browser, create_user):
    create_user(username="ned")
    for _ in range(3):
        _page_login("ned", "wrong", peer="203.0.113.40")
    page = admin_browser.get("/console/users/")
    locked = {(lock.kind, lock.value) for lock in page.context["lockouts"]}
    assert locked == {("username", "ned"), ("ip_address", "203.0.113.40")}
    assert b"Sign-in lockouts" in page.content
    cleared = admin_browser.post("/console/users/lockouts/clear/",
                                 {"kind": "username", "value": "ned"}, follow=True)
    assert "ned may sign in again" in " ".join(str(m) for m in cleared.context["messages"])
    assert _page_login("ned", PASSWORD, peer="198.51.100.5")[1].status_code == 302
    event = AuditEvent.objects.get(action="auth.lockout_clear")
    assert (event.user_id, event.data["kind"], event.data["value"]) == (
        admin_browser.user.pk, "username", "ned")
    bad = admin_browser.post("/console/users/lockouts/clear/", {"kind": "table", "value": "x"},
                             follow=True)
    assert "Say which" in " ".join(str(m) for m in bad.context["messages"])
