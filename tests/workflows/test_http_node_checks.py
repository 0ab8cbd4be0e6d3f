"""What publish and validate say about an HTTP node: URL schemes the run would refuse,
and a credential sent to a host it is not allowed for."""

import pytest

from apps.nodes.registry import registry
from apps.workflows.graph import validate_graph
from apps.workflows.models import WorkflowVersion
from tests.fixtures.runs import flow

pytestmark = pytest.mark.django_db


def http_flow(**config):
    return flow(("start", "trigger.manual"), ("fetch", "http.request", config),
                edges=[("start", "fetch")])


@pytest.mark.parametrize(("url", "scheme"), [
    ("file:///etc/passwd", "file"),
    ("gopher://127.0.0.1:6379/_INFO", "gopher"),
    ("ftp://example.com/x", "ftp"),
    ("FILE:///etc/passwd", "file"),
    ("dict://example.com:11211/stats", "dict"),
    ("file://{{ input.path }}", "file"),
    ("javascript:{{ input.x }}", "javascript"),
])
def test_urls_with_schemes_the_run_refuses_are_problems_on_the_node(url, scheme):
    problems = validate_graph(http_flow(url=url), registry)
    assert [(p.code, p.node_id, p.field) for p in problems] == [
        ("invalid_config", "fetch", "config.url")]
    assert f"'{scheme}'" in problems[0].message
    assert "http:// or https://" in problems[0].message


@pytest.mark.parametrize("url", [
    "https://api.example.com/x", "http://api.example.com", "HTTPS://api.example.com/",
    "https://{{ input.host }}/x", "{{ input.url }}", "ht{{ input.s }}://x", "http{{ '' }}",
])
def test_http_urls_and_urls_decided_at_run_time_pass(url):
    assert validate_graph(http_flow(url=url), registry) == []


def test_a_url_without_a_scheme_is_a_problem_too():
    problems = validate_graph(http_flow(url="api.example.com/x"), registry)
    assert [(p.node_id, p.field) for p in problems] == [("fetch", "config.url")]


def test_validate_and_publish_refuse_a_file_url_naming_node_and_field(
        editor_client, create_workflow):
    workflow = create_workflow(graph=http_flow(url="file:///etc/passwd"))
    checked = editor_client.post(f"/api/workflows/{workflow.pk}/validate/", {}, format="json")
    assert checked.data["valid"] is False
    assert {"code": "invalid_config", "node_id": "fetch", "field": "config.url"}.items() <= \
        checked.data["problems"][0].items()
    published = editor_client.post(f"/api/workflows/{workflow.pk}/publish/", {}, format="json")
    assert published.status_code == 400
    assert published.data["problems"][0]["node_id"] == "fetch"
    assert published.data["problems"][0]["field"] == "config.url"
    assert not WorkflowVersion.objects.filter(workflow=workflow).exists()


def test_publish_refuses_a_credential_for_a_host_it_is_not_allowed_for(
        editor_client, create_workflow, create_credential):
    credential = create_credential(name="Billing", allowed_hosts=["billing.example.com"])
    workflow = create_workflow(graph=http_flow(url="https://evil.example.net/{{ input.id }}",
                                               credential=str(credential.pk)))
    published = editor_client.post(f"/api/workflows/{workflow.pk}/publish/", {}, format="json")
    assert published.status_code == 400
    problem = published.data["problems"][0]
    assert (problem["code"], problem["node_id"], problem["field"]) == (
        "credential_host", "fetch", "config.url")
    assert "'Billing'" in problem["message"]
    assert "evil.example.net" in problem["message"]
    assert not WorkflowVersion.objects.filter(workflow=workflow).exists()


@pytest.mark.parametrize("url", ["https://billing.example.com/x",
                                 "https://BILLING.example.com:443/{{ input.id }}",
                                 "https://{{ input.host }}/x"])
def test_publish_accepts_allowed_and_dynamic_hosts(editor_client, create_workflow,
                                                   create_credential, url):
    credential = create_credential(allowed_hosts=["billing.example.com"])
    workflow = create_workflow(graph=http_flow(url=url, credential=str(credential.pk)))
    published = editor_client.post(f"/api/workflows/{workflow.pk}/publish/", {}, format="json")
    assert published.status_code == 201, published.data
