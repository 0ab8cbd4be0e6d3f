"""The inbox's server-rendered shell (/inbox/, /inbox/<task_id>/): who may open it, and
what its boot JSON tells the React inbox; the run panel's link to a waiting task."""

import json
import re
import uuid

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def boot_data(response) -> dict:
    match = re.search(r'<script id="weft-boot" type="application/json">(.*?)</script>',
                      response.content.decode(), re.S)
    assert match, "the page carries no weft-boot JSON"
    return json.loads(match.group(1))


@pytest.mark.parametrize("path", ["/inbox/", f"/inbox/{uuid.uuid4()}/"])
def test_anonymous_visitors_are_sent_to_sign_in(path):
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={path}"


@pytest.mark.parametrize("roles", [(), ("viewer",)])
def test_users_without_a_reviewing_role_get_403(browser_for, roles):
    assert browser_for(*roles).get("/inbox/").status_code == 403


@pytest.mark.parametrize("role", ["reviewer", "editor", "admin"])
def test_reviewers_editors_and_admins_get_the_inbox(browser_for, role):
    response = browser_for(role).get("/inbox/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="/inbox/"' in html  # the site bar links to it
    # Under a strict Content-Security-Policy: no inline script or style attribute.
    assert not re.search(r"<script(?![^>]*\b(src|type=\"application/json\"))", html)
    assert " style=" not in html
    assert "csrftoken" in response.cookies


def test_the_boot_json_names_the_user_their_teams_and_the_open_task(browser_for,
                                                                    create_team):
    browser = browser_for("reviewer")
    team = create_team(name="Billing", members=[browser.user])
    task_id = uuid.uuid4()
    data = boot_data(browser.get(f"/inbox/{task_id}/"))
    assert data == {
        "page": "inbox", "task_id": str(task_id),
        "user": {"id": browser.user.pk, "username": browser.user.username,
                 "roles": ["reviewer", "viewer"]},
        "team_ids": [str(team.pk)], "api_base": "/api",
    }


def test_the_page_loads_the_inbox_entry_of_the_bundle(browser_for, settings, tmp_path):
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({
        "src/inbox.tsx": {"file": "assets/inbox-1.js", "isEntry": True, "css": ["assets/inbox-1.css"]},
        "src/main.tsx": {"file": "assets/main-1.js", "isEntry": True},
    }))
    settings.WEFT_VITE_MANIFEST = str(manifest)
    html = browser_for("reviewer").get("/inbox/").content.decode()
    assert '<script type="module" src="/static/dist/assets/inbox-1.js"></script>' in html
    assert "main-1.js" not in html


def test_the_run_detail_names_the_task_a_node_waits_on(start_review, create_user,
                                                      create_team, client_for):
    create_team(name="Billing", members=[create_user(roles=["reviewer"])])
    task = start_review(assignee_teams=["Billing"])
    body = client_for("viewer").get(f"/api/runs/{task.run_id}/").data
    nodes = {n["node_id"]: n for n in body["node_runs"]}
    assert nodes["review"]["status"] == "waiting"
    assert (nodes["review"]["task_id"], nodes["review"]["task_title"]) == (
        str(task.pk), "Invoice INV-1")
    assert nodes["start"]["task_id"] is None
