"""Only admins open the console: others get 403, anonymous visitors the sign-in page."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

GET_PAGES = ["/console/", "/console/audit/", "/console/audit/1/", "/console/audit/export.csv",
             "/console/audit/export.jsonl", "/console/users/", "/console/tokens/",
             "/console/credentials/", "/console/operations/", "/console/teams/",
             "/console/teams/00000000-0000-4000-8000-000000000003/"]
POST_PAGES = ["/console/audit/verify/", "/console/users/", "/console/users/1/roles/",
              "/console/users/1/active/", "/console/users/lockouts/clear/",
              "/console/tokens/1/revoke/",
              "/console/credentials/00000000-0000-4000-8000-000000000001/hosts/",
              "/console/operations/kill-switch/", "/console/teams/",
              "/console/teams/00000000-0000-4000-8000-000000000003/",
              "/console/teams/00000000-0000-4000-8000-000000000003/delete/",
              "/console/teams/00000000-0000-4000-8000-000000000003/members/",
              "/console/teams/00000000-0000-4000-8000-000000000003/members/1/remove/"]
PAGES = [("get", p) for p in GET_PAGES] + [("post", p) for p in POST_PAGES]


def test_every_console_url_is_covered():
    from django.urls import resolve

    from apps.console.urls import urlpatterns

    named = {resolve(path).url_name for _, path in PAGES} - {"console"}  # config/urls alias
    assert named | {"home"} == {p.name for p in urlpatterns}


@pytest.mark.parametrize(("method", "path"), PAGES)
@pytest.mark.parametrize("roles", [(), ("viewer",), ("editor",), ("reviewer",),
                                   ("editor", "reviewer")])
def test_non_admins_get_403(browser_for, audit_since, method, path, roles):
    response = getattr(browser_for(*roles), method)(path)
    assert response.status_code == 403
    assert b"admin" in response.content
    assert not audit_since(action__startswith="audit.")


@pytest.mark.parametrize(("method", "path"), PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(method, path):
    response = getattr(Client(), method)(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_a_deactivated_admin_is_signed_out(browser_for):
    browser = browser_for("admin")
    browser.user.is_active = False
    browser.user.save()
    assert browser.get("/console/audit/").status_code == 302


def test_admins_see_the_console_link(admin_browser):
    page = admin_browser.get("/")
    assert b'href="/console/"' in page.content
