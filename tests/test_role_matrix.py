"""Every API route x every role x anonymous: who may call what.

A route that is added without an entry here fails `test_every_route_is_in_the_matrix`.
"""

import pytest
from django.urls import URLPattern, URLResolver

from config import api_urls

ANON, NONE, VIEWER, EDITOR, REVIEWER, ADMIN = "anon", "none", "viewer", "editor", "reviewer", "admin"
ALL_ROLES = (ANON, NONE, VIEWER, EDITOR, REVIEWER, ADMIN)
ANYONE = set(ALL_ROLES)
SIGNED_IN = ANYONE - {ANON}
VIEWERS = {VIEWER, EDITOR, REVIEWER, ADMIN}
EDITORS = {EDITOR, ADMIN}
ADMINS = {ADMIN}

# route name -> {method: roles allowed}
MATRIX = {
    "auth-token": {"post": ANYONE},
    "auth-tokens": {"get": SIGNED_IN, "post": SIGNED_IN},
    "auth-token-revoke": {"delete": SIGNED_IN},
    "auth-me": {"get": SIGNED_IN},
    "users": {"get": ADMINS, "post": ADMINS},
    "user-detail": {"get": ADMINS, "patch": ADMINS},
    "node-types": {"get": VIEWERS},
    "templates": {"get": VIEWERS},
    "workflows": {"get": VIEWERS, "post": EDITORS},
    "workflow-import": {"post": EDITORS},
    "workflow-detail": {"get": VIEWERS, "patch": EDITORS, "delete": EDITORS},
    "workflow-validate": {"post": EDITORS},
    "workflow-publish": {"post": EDITORS},
    "workflow-versions": {"get": VIEWERS},
    "workflow-version-detail": {"get": VIEWERS},
    "workflow-version-restore": {"post": EDITORS},
    "workflow-export": {"get": VIEWERS},
    "expression-check": {"post": VIEWERS},
    "credentials": {"get": VIEWERS, "post": ADMINS},
    "credential-detail": {"get": VIEWERS, "patch": ADMINS, "delete": ADMINS},
    "variables": {"get": VIEWERS, "post": EDITORS},
    "variable-detail": {"get": VIEWERS, "patch": EDITORS, "delete": EDITORS},
    "audit-events": {"get": ADMINS},
    "audit-event-detail": {"get": ADMINS},
    "audit-verify": {"post": ADMINS},
    "workflow-runs": {"post": EDITORS},
    "workflow-runtime": {"get": EDITORS, "patch": EDITORS},
    "workflow-test-runs": {"post": EDITORS},
    "workflow-webhook-listen": {"post": EDITORS, "delete": EDITORS},
    "workflow-test-data": {"get": EDITORS},
    "workflow-pins": {"get": EDITORS},
    "workflow-pin-detail": {"put": EDITORS, "delete": EDITORS},
    "run-graph": {"get": VIEWERS},
    "workflow-personal-data": {"get": ADMINS, "put": ADMINS},
    "user-personal-data": {"get": ADMINS, "put": ADMINS},
    "team-personal-data": {"get": ADMINS, "put": ADMINS},
    "personal-data-erase": {"post": ADMINS},
    "feedback-models": {"get": EDITORS},
    "feedback-agreement": {"get": EDITORS},
    "feedback-export": {"get": ADMINS},
    "runs": {"get": VIEWERS},
    "run-detail": {"get": VIEWERS},
    "run-node-items": {"get": VIEWERS},
    "run-cancel": {"post": EDITORS},
    "run-retry": {"post": EDITORS},
    "runs-bulk": {"post": EDITORS},
    "run-debug": {"post": EDITORS},
    "engine-pause": {"get": ADMINS, "put": ADMINS},
    "triton-servers": {"get": VIEWERS, "post": ADMINS},
    "triton-server-detail": {"get": VIEWERS, "patch": ADMINS, "delete": ADMINS},
    # These call Triton: the server below is down, so allowed roles get 503 (fast),
    # the others 401/403 before any call is made.
    "triton-models": {"get": VIEWERS},
    "triton-model-detail": {"get": VIEWERS},
    "triton-model-infer": {"post": EDITORS},
    # Tasks: every signed-in role but "none" may call; a task itself is visible only to
    # its assignees, their teams and admins (others get 404: tests/approvals).
    "tasks": {"get": VIEWERS},
    "task-detail": {"get": VIEWERS},
    "task-claim": {"post": VIEWERS},
    "task-release": {"post": VIEWERS},
    "task-assign": {"post": VIEWERS},
    "task-decide": {"post": VIEWERS},
    "teams": {"get": VIEWERS, "post": ADMINS},
    "team-detail": {"get": VIEWERS, "patch": ADMINS, "delete": ADMINS},
    "team-members": {"post": ADMINS},
    "team-member-detail": {"delete": ADMINS},
    "my-notifications": {"get": VIEWERS, "put": VIEWERS},
    # Model oversight: editors read and keep alert rules; admins set drift thresholds.
    "models": {"get": EDITORS},
    "model-detail": {"get": EDITORS, "patch": ADMINS},
    "model-series": {"get": EDITORS},
    "model-rules": {"get": EDITORS, "post": EDITORS},
    "model-rule-detail": {"delete": EDITORS},
    "model-alerts": {"get": EDITORS},
    "model-alert-acknowledge": {"post": EDITORS},
    "model-alert-resolve": {"post": EDITORS},
}


def _routes(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield entry.name, prefix + str(entry.pattern), entry.callback


def test_every_route_is_in_the_matrix():
    routes = {name: callback for name, _, callback in _routes(api_urls.urlpatterns)}
    assert set(routes) == set(MATRIX)
    for name, callback in routes.items():
        view = callback.view_class
        implemented = {m for m in view.http_method_names if hasattr(view, m)} - {"options"}
        assert implemented == set(MATRIX[name]), name


CASES = [(name, method, role) for name, methods in MATRIX.items() for method in methods
         for role in ALL_ROLES]


@pytest.fixture
def world(db, create_user, create_workflow, client_for, api_client, create_triton_server):
    owner = create_user(username="owner", roles=[EDITOR])
    workflow = create_workflow(user=owner)
    from apps.workflows.services import workflow_publish

    workflow_publish(workflow=workflow, user=owner)
    target = create_user(username="target")
    from apps.runs.services import run_start
    from tests.fixtures.live import free_port

    server = create_triton_server(url=f"127.0.0.1:{free_port()}")  # nothing listens there
    return {"workflow": workflow, "target": target, "run": run_start(workflow=workflow),
            "server": server}


def _kwargs(name, world, client):
    from apps.accounts.models import ApiToken

    workflow = world["workflow"]
    return {
        "workflow_id": workflow.pk,
        "run_id": world["run"].pk,
        "node_id": "start",
        "number": 1,
        "user_id": world["target"].pk,
        "seq": 1,
        "server_id": world["server"].pk,
        "model": "echo",
        "token_id": ApiToken.objects.filter(user=getattr(client, "user", None)).values_list(
            "pk", flat=True).first() or 1,
        "credential_id": "00000000-0000-4000-8000-000000000001",
        "task_id": "00000000-0000-4000-8000-000000000002",
        "team_id": "00000000-0000-4000-8000-000000000003",
        "name": "region",
        "version_id": 1,
        "rule_id": 1,
        "alert_id": 1,
    }


def _path(name, kwargs):
    from django.urls import reverse
    from django.urls.exceptions import NoReverseMatch

    for keys in (["workflow_id", "number"], ["workflow_id", "node_id"], ["workflow_id"], ["run_id", "node_id"], ["run_id"],
                 ["team_id", "user_id"], ["team_id"], ["task_id"], ["user_id"],
                 ["token_id"], ["seq"], ["credential_id"], ["server_id", "model"],
                 ["server_id"], ["name"], ["version_id"], ["rule_id"], ["alert_id"], []):
        try:
            return reverse(name, kwargs={k: kwargs[k] for k in keys})
        except NoReverseMatch:
            continue
    raise AssertionError(f"cannot build a path for {name}")


@pytest.mark.parametrize(("name", "method", "role"), CASES,
                         ids=[f"{n}-{m}-{r}" for n, m, r in CASES])
def test_role_matrix(world, client_for, api_client, name, method, role):
    if role == ANON:
        client = api_client
    elif role == NONE:
        client = client_for()
    else:
        client = client_for(role)
    path = _path(name, _kwargs(name, world, client))
    response = getattr(client, method)(path, {}, format="json")
    if role in MATRIX[name][method]:
        assert response.status_code not in (401, 403), (path, role, response.data)
    elif role == ANON:
        assert response.status_code in (401, 403), (path, role, response.status_code)
    else:
        assert response.status_code == 403, (path, role, response.status_code)


# Server-rendered pages outside the API and the console (tests/console/test_access.py):
# path -> roles that open them; other signed-in users get 403, anonymous visitors the
# sign-in page.
PAGES = {
    "/inbox/": {EDITOR, REVIEWER, ADMIN},
    "/inbox/00000000-0000-4000-8000-000000000002/": {EDITOR, REVIEWER, ADMIN},
}


@pytest.mark.parametrize(("path", "role"), [(p, r) for p in PAGES for r in ALL_ROLES])
def test_page_matrix(db, create_user, path, role):
    from django.test import Client

    client = Client()
    if role != ANON:
        client.force_login(create_user(roles=[] if role == NONE else [role]))
    response = client.get(path)
    if role == ANON:
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")
    elif role in PAGES[path]:
        assert response.status_code == 200, (path, role)
    else:
        assert response.status_code == 403, (path, role)
