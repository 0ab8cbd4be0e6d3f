"""The editor's server-rendered shells: /workflows/ and /editor/<id>/."""

import json
import re
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from tests.fixtures.accounts import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser_for(create_user):
    """browser_for(*roles) -> a Django test client signed in (by session) as a new user."""

    def make(*roles):
        user = create_user(roles=roles)
        client = Client()
        assert client.login(username=user.username, password=PASSWORD)
        client.user = user
        return client

    return make


def boot_data(response) -> dict:
    match = re.search(r'<script id="weft-boot" type="application/json">(.*?)</script>',
                      response.content.decode(), re.S)
    assert match, "the page carries no weft-boot JSON"
    return json.loads(match.group(1))


def editor_url(workflow_id=None) -> str:
    return reverse("editor:editor", kwargs={"workflow_id": workflow_id or uuid.uuid4()})


@pytest.mark.parametrize("url", ["/workflows/", "editor"])
def test_pages_send_anonymous_visitors_to_the_login_page(client, url):
    url = editor_url() if url == "editor" else url
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={url}"


@pytest.mark.parametrize("url", ["/workflows/", "editor"])
def test_pages_refuse_a_user_without_roles(browser_for, url):
    response = browser_for().get(editor_url() if url == "editor" else url)
    assert response.status_code == 403


def test_editor_page_boots_with_the_workflow_id_and_the_users_roles(browser_for, create_workflow):
    browser = browser_for("editor")
    workflow = create_workflow(user=browser.user)
    response = browser.get(editor_url(workflow.pk))
    assert response.status_code == 200
    assert boot_data(response) == {
        "page": "editor",
        "workflow_id": str(workflow.pk),
        "user": {"username": browser.user.username, "roles": ["editor", "viewer"]},
        "api_base": "/api",
    }
    # The app sends the CSRF token back from this cookie on every write.
    assert "csrftoken" in response.cookies


def test_a_viewer_gets_the_editor_page_with_only_the_viewer_role(browser_for):
    browser = browser_for("viewer")
    workflow_id = uuid.uuid4()  # whether it exists is for the API to say, not the shell
    data = boot_data(browser.get(editor_url(workflow_id)))
    assert data["workflow_id"] == str(workflow_id)
    assert data["user"]["roles"] == ["viewer"]


def test_workflow_list_page_boots_without_a_workflow(browser_for):
    browser = browser_for("admin")
    response = browser.get("/workflows/")
    assert response.status_code == 200
    data = boot_data(response)
    assert data["page"] == "workflows"
    assert data["workflow_id"] is None
    assert "admin" in data["user"]["roles"]
    assert "viewer" in data["user"]["roles"]


def test_editor_page_404s_for_an_id_that_is_not_a_uuid(browser_for):
    assert browser_for("editor").get("/editor/not-a-uuid/").status_code == 404


def test_boot_json_is_escaped_inside_the_script_tag(browser_for, create_user):
    # A username cannot close the script element it is embedded in.
    user = create_user(roles=["viewer"], username="x</script>")
    client = Client()
    client.force_login(user)
    html = client.get("/workflows/").content.decode()
    assert "x</script>" not in html
    assert boot_data(client.get("/workflows/"))["user"]["username"] == "x</script>"
