"""Who opens which console page: admins everything; editors the pages of what they may
use (credentials, variables, Triton servers: reading, and for variables writing);
everyone with a role their own API tokens. Others get 403, anonymous visitors the
sign-in page."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

CRED = "/console/credentials/00000000-0000-4000-8000-000000000001"
GET_PAGES = ["/console/audit/", "/console/audit/1/", "/console/audit/export.csv",
             "/console/audit/export.jsonl", "/console/users/",
             "/console/operations/", "/console/teams/",
             "/console/teams/00000000-0000-4000-8000-000000000003/",
             "/console/personal-data/"]
POST_PAGES = ["/console/audit/verify/", "/console/users/", "/console/users/1/roles/",
              "/console/users/1/active/", "/console/users/lockouts/clear/",
              "/console/credentials/", f"{CRED}/", f"{CRED}/delete/", f"{CRED}/test/",
              f"{CRED}/hosts/", "/console/triton/", "/console/triton/1/",
              "/console/triton/1/delete/",
              "/console/operations/kill-switch/", "/console/teams/",
              "/console/teams/00000000-0000-4000-8000-000000000003/",
              "/console/teams/00000000-0000-4000-8000-000000000003/delete/",
              "/console/teams/00000000-0000-4000-8000-000000000003/members/",
              "/console/teams/00000000-0000-4000-8000-000000000003/members/1/remove/",
              "/console/models/1/settings/",
              "/console/personal-data/policy/", "/console/personal-data/grants/"]
PAGES = [("get", p) for p in GET_PAGES] + [("post", p) for p in POST_PAGES]
# Pages editors open too (admins as well); viewers and reviewers get 403.
EDITOR_PAGES = [("get", "/console/credentials/"), ("get", f"{CRED}/"),
                ("get", "/console/variables/"), ("post", "/console/variables/"),
                ("get", "/console/variables/1/"), ("post", "/console/variables/1/"),
                ("post", "/console/variables/1/delete/"), ("get", "/console/triton/"),
                ("get", "/console/triton/1/"), ("post", "/console/triton/1/try/"),
                ("get", "/console/models/"), ("get", "/console/models/1/"),
                ("post", "/console/models/1/rules/"), ("post", "/console/models/rules/1/delete/"),
                ("get", "/console/models/alerts/"),
                ("post", "/console/models/alerts/1/acknowledge/"),
                ("post", "/console/models/alerts/1/resolve/"),
                ("get", "/console/models/agreement/")]
# Pages everyone with a role opens.
VIEWER_PAGES = [("get", "/console/"), ("get", "/console/tokens/"), ("post", "/console/tokens/"),
                ("post", "/console/tokens/1/revoke/")]


def test_every_console_url_is_covered():
    from django.urls import resolve

    from apps.console.urls import urlpatterns

    named = {resolve(path).url_name for _, path in PAGES + EDITOR_PAGES + VIEWER_PAGES} \
        - {"console"}  # config/urls alias
    assert named | {"home"} == {p.name for p in urlpatterns}


@pytest.mark.parametrize(("method", "path"), PAGES)
@pytest.mark.parametrize("roles", [(), ("viewer",), ("editor",), ("reviewer",),
                                   ("editor", "reviewer")])
def test_non_admins_get_403(browser_for, audit_since, method, path, roles):
    response = getattr(browser_for(*roles), method)(path)
    assert response.status_code == 403
    assert b"admin" in response.content
    assert not audit_since(action__startswith="audit.")


@pytest.mark.parametrize(("method", "path"), EDITOR_PAGES)
@pytest.mark.parametrize("roles", [(), ("viewer",), ("reviewer",)])
def test_editor_pages_refuse_viewers_and_reviewers(browser_for, method, path, roles):
    response = getattr(browser_for(*roles), method)(path)
    assert response.status_code == 403
    assert b"editor" in response.content


@pytest.mark.parametrize(("method", "path"), EDITOR_PAGES)
def test_editors_open_the_pages_of_what_they_use(browser_for, method, path):
    response = getattr(browser_for("editor"), method)(path)
    assert response.status_code in (200, 302, 400, 404), response.status_code


@pytest.mark.parametrize(("method", "path"), VIEWER_PAGES)
def test_users_without_a_role_cannot_open_the_tokens_page(browser_for, method, path):
    assert getattr(browser_for(), method)(path).status_code == 403


@pytest.mark.parametrize(("method", "path"), PAGES + EDITOR_PAGES + VIEWER_PAGES)
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


@pytest.mark.parametrize(("path", "current"), [("/console/models/", "Models"),
                                               ("/console/models/agreement/",
                                                "Reviewer agreement")])
def test_the_sidebar_marks_only_the_open_page(admin_browser, path, current):
    import re

    page = admin_browser.get(path).content.decode()
    marked = re.findall(r'aria-current="page">([^<]+)</a>', page)
    assert marked == [current]
