"""Bad input gets a 4xx that names the problem, never a 500, on every way in, and
nothing is written: JSON nested thousands deep, NUL characters and lone surrogates
(in keys or values), query strings, bodies sent without a Content-Length. Data a
node brings in from outside (an HTTP response) that cannot be stored fails the node
at once, with an error naming the node and where the problem lies."""

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from channels.testing import HttpCommunicator

from apps.accounts.services import token_create
from apps.runs import services, triggers
from apps.runs.models import NodeRun, Run
from apps.workflows.models import Workflow
from config.asgi import application
from tests.fixtures.runs import flow

START = flow(("start", "trigger.manual"), ("keep", "test.set", {"values": {"ok": True}}),
             edges=[("start", "keep")])
HOOK = flow(("hook", "trigger.webhook"), ("keep", "test.set", {"values": {"ok": True}}),
            edges=[("hook", "keep")])

DEEP = "[" * 5000 + "]" * 5000
# Bodies as raw JSON text: a NUL and a lone surrogate, in a value and in a key
BAD_TEXT = {
    "nul value": ('{"input": {"name": "a\\u0000b"}}', "body.input.name", "invalid_text"),
    "nul key": ('{"input": {"a\\u0000b": 1}}', 'body.input["a\\u0000b"]', "invalid_text"),
    "surrogate value": ('{"input": {"name": "a\\ud800"}}', "body.input.name", "invalid_text"),
    "surrogate key": ('{"input": {"\\udc00": 1}}', 'body.input["\\udc00"]', "invalid_text"),
    "deep": ('{"input": {"x": ' + DEEP + "}}", "body", "too_deep"),
    "past the limit": ('{"input": {"x": ' + "[" * 64 + "]" * 64 + "}}", "body.input.x[0]",
                       "too_deep"),
}


def _asgi(method, path, body=b"", headers=()):
    async def go():
        communicator = HttpCommunicator(application, method, path, body=body,
                                        headers=list(headers))
        return await communicator.get_response(timeout=10)

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result(timeout=30)


@pytest.mark.django_db
@pytest.mark.parametrize("case", list(BAD_TEXT))
def test_run_api_refuses_bad_json_naming_it(case, publish, editor_client):
    workflow = publish(START)
    raw, path, code = BAD_TEXT[case]
    answer = editor_client.post(f"/api/workflows/{workflow.pk}/runs/", raw,
                                content_type="application/json")
    assert answer.status_code == 400, answer.content
    body = answer.json()
    assert body["code"] == code
    assert [key for key in body["errors"] if key.startswith(path)], body
    assert path in body["detail"]
    assert not Run.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("case", list(BAD_TEXT))
def test_webhooks_refuse_bad_json_on_both_fronts(case, publish, client):
    secret = triggers.workflow_runtime_get(workflow=publish(HOOK)).webhook_secret
    raw, path, code = BAD_TEXT[case]
    raw = raw.replace('{"input": ', "", 1)[:-1]  # the body is the input
    path = path.replace("body.input", "body", 1)
    answer = client.post(f"/hooks/{secret}/", raw, content_type="application/json")
    assert answer.status_code == 400, answer.content
    assert answer.json()["code"] == code
    assert [key for key in answer.json()["errors"] if key.startswith(path)]
    response = _asgi("POST", f"/hooks/{secret}/", raw.encode(),
                     [(b"content-type", b"application/json")])
    assert response["status"] == 400, response["body"]
    assert json.loads(response["body"])["code"] == code
    assert not Run.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["nul value", "surrogate key", "deep"])
def test_workflow_saves_and_imports_refuse_bad_json(case, editor_client, create_workflow,
                                                     simple_graph):
    workflow = create_workflow(graph=simple_graph)
    before = Workflow.objects.get(pk=workflow.pk).graph
    raw, _, code = BAD_TEXT[case]
    value = raw[len('{"input": '):-1]
    graph = '{"graph": {"nodes": [{"id": "a", "config": {"v": VALUE}}], "edges": []}}'
    graph = graph.replace("VALUE", value)
    for method, url in [("post", "/api/workflows/import/"), ("post", "/api/workflows/"),
                        ("patch", f"/api/workflows/{workflow.pk}/")]:
        answer = getattr(editor_client, method)(url, graph, content_type="application/json")
        assert answer.status_code == 400, (url, answer.content)
        assert answer.json()["code"] == code
    assert Workflow.objects.count() == 1
    assert Workflow.objects.get(pk=workflow.pk).graph == before


@pytest.mark.django_db
@pytest.mark.parametrize("url", [
    "/api/workflows/?search=a%00b", "/api/credentials/?search=a%00b",
    "/api/users/?search=a%00b", "/api/runs/?status=a%00b", "/api/workflows/?a%00b=1",
    "/api/runs/00000000-0000-0000-0000-000000000000/nodes/a%00b/items/"])
def test_query_strings_and_paths_with_nul_are_refused(url, admin_client):
    answer = admin_client.get(url)
    assert answer.status_code == 400, answer.content
    assert answer.json()["code"] == "invalid_text"
    assert "NUL" in answer.json()["detail"]


@pytest.mark.django_db
def test_the_console_list_page_refuses_nul_without_a_database_error(client, create_user):
    from tests.fixtures.accounts import PASSWORD

    admin = create_user(roles=["admin"])
    client.login(username=admin.username, password=PASSWORD)
    page = client.get("/console/users/?search=a%00b")
    assert page.status_code == 400
    assert "NUL" in page.content.decode()
    assert "psycopg" not in page.content.decode().lower()


# --- Bodies without a Content-Length (chunked) ----------------------------------------

@pytest.mark.django_db(transaction=True)
def test_a_chunked_body_to_the_api_is_read_not_dropped(publish, create_user, settings):
    workflow = publish(START)
    _, token = token_create(user=create_user(roles=["editor"]), name="t")
    headers = [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked"),
               (b"authorization", f"Token {token}".encode()), (b"host", b"testserver")]
    body = json.dumps({"input": {"n": 7}}).encode()
    response = _asgi("POST", f"/api/workflows/{workflow.pk}/runs/", body, headers)
    assert response["status"] == 201, response["body"]
    run = Run.objects.get()
    assert run.input == {"n": 7}
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    big = json.dumps({"input": {"x": "y" * 200}}).encode()
    response = _asgi("POST", f"/api/workflows/{workflow.pk}/runs/", big, headers)
    assert response["status"] == 413, response["body"]
    assert json.loads(response["body"])["code"] == "too_large"
    assert Run.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_chunked_webhook_body_is_read_or_refused_never_dropped(publish, client, settings):
    secret = triggers.workflow_runtime_get(workflow=publish(HOOK)).webhook_secret
    # The ASGI front reads it (in several messages, bounded by the limit).
    settings.WEFT_WEBHOOK_MAX_BYTES = 1000
    response = _asgi("POST", f"/hooks/{secret}/", json.dumps({"n": 7}).encode(),
                     [(b"content-type", b"application/json"),
                      (b"transfer-encoding", b"chunked")])
    assert response["status"] == 202, response["body"]
    assert Run.objects.get().input == {"n": 7}
    # The Django view, under WSGI (where the server may not hand the body over): 411.
    answer = client.post(f"/hooks/{secret}/", json.dumps({"n": 8}),
                         content_type="application/json", CONTENT_LENGTH="",
                         HTTP_TRANSFER_ENCODING="chunked")
    assert answer.status_code == 411, answer.content
    assert answer.json()["code"] == "length_required"
    assert Run.objects.count() == 1


# --- What a node brings in ---------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize(("raw", "path", "message"), [
    (b'{"name": "a\\u0000b"}', "outputs.out.body.name", "NUL"),
    (b'{"\\ud800x": 1}', 'outputs.out.body["\\ud800x"]', "lone surrogate"),
    (b'{"x": ' + b"[" * 70 + b"]" * 70 + b"}", "outputs.out.body.x", "levels deep"),
    (b'{"x": ' + b"[" * 5000 + b"]" * 5000 + b"}", "outputs.out.body", "levels deep"),
])
def test_an_http_response_that_cannot_be_stored_fails_the_node_at_once(
        raw, path, message, publish, answering_server, django_capture_on_commit_callbacks):
    url = answering_server(raw)
    workflow = publish(flow(("start", "trigger.manual"), ("fetch", "http.request", {"url": url}),
                            edges=[("start", "fetch")]))
    run = services.run_start(workflow=workflow, input={})
    row = NodeRun.objects.get(run=run, node_id="fetch")
    with django_capture_on_commit_callbacks():
        assert services.node_run_execute(node_run_id=row.pk) == "failed"
    run.refresh_from_db()
    assert run.status == "failed"
    assert run.error["node_id"] == "fetch"
    assert run.error["type"] == "invalid_output"
    assert path in run.error["message"]
    assert message in run.error["message"]
    # Failed at once: one attempt, one delivery, no retry due.
    assert list(NodeRun.objects.filter(run=run, node_id="fetch").values_list(
        "attempt", "delivery_count")) == [(1, 1)]
