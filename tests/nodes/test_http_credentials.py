"""Credentials stay where they belong: the HTTP node against real local servers on
127.0.0.1 (loopback allowed for these tests only). Two receivers on two ports are two
origins: A redirects to B and B records what it got."""

import base64
import json
import logging
from urllib.parse import quote, quote_plus

import pytest

from apps.audit.redaction import SECRET_MASK, SecretLogFilter, secret_scope
from apps.nodes.base import NodeContext, NodeError
from apps.nodes.registry import registry
from apps.runs import services as runs
from apps.runs.models import NodeRun
from tests.fixtures.runs import flow

pytestmark = pytest.mark.django_db

BASIC_PAIR = "ann:pw-BBBB/2222"
KINDS = {
    "bearer": ({"token": "tok-AAAA-1111"}, ["tok-AAAA-1111"]),
    "basic": ({"username": "ann", "password": "pw-BBBB/2222"},
              ["pw-BBBB/2222", base64.b64encode(BASIC_PAIR.encode()).decode()]),
    "api_key": ({"header": "X-Api-Key", "value": "key-CCCC-3333"}, ["key-CCCC-3333"]),
    "api_key_query": ({"value": "key/DDDD 4444+&=", "query_param": "api_key"},
                      ["key/DDDD 4444+&="]),
    "secret": ({"X-Custom": "custom-EEEE-5555", "X-Other": "other-FFFF-6666"},
               ["custom-EEEE-5555", "other-FFFF-6666"]),
}


def forms(value):
    return {value, quote(value, safe=""), quote_plus(value),
            base64.b64encode(value.encode()).decode()}


def leaked(data, values):
    text = data if isinstance(data, str) else json.dumps(data)
    return sorted(form for value in values for form in forms(value) if form in text)


@pytest.fixture
def allow_loopback(settings):
    settings.WEFT_HTTP_ALLOW_HOSTS = ["127.0.0.1/32"]


@pytest.fixture(params=sorted(KINDS))
def kind_credential(request, create_credential):
    """(credential, its secret values) for every kind, allowed on 127.0.0.1."""
    secret, values = KINDS[request.param]
    kind = "api_key" if request.param == "api_key_query" else request.param
    return create_credential(kind=kind, secret=secret), values


def call(config):
    node = registry.get("http.request")
    parsed = node.Config.model_validate(config)
    ctx = NodeContext(run_id="run-7", node_id="fetch", attempt=1, inputs={"in": {}})
    return node().execute(ctx, parsed)


def test_a_redirect_to_another_origin_carries_nothing_the_credential_supplied(
        http_receiver, allow_loopback, kind_credential):
    credential, values = kind_credential
    a, b = http_receiver(), http_receiver()
    a.redirect_to, a.copy_query = b.url + "/landing", True  # B gets A's query string too
    out = call({"url": a.url + "/go", "credential": str(credential.pk)}).ports["out"]
    assert out["status"] == 200
    assert leaked(a.seen[0], values)  # A, the credential's own origin, got it
    assert [hop["path"].partition("?")[0] for hop in b.seen] == ["/landing"]
    assert leaked(b.seen, values) == []


def test_a_redirect_within_the_origin_keeps_the_credential(http_receiver, allow_loopback,
                                                           kind_credential):
    credential, values = kind_credential
    a = http_receiver()
    a.redirect_to, a.copy_query = a.url + "/landing", True
    call({"url": a.url + "/go", "credential": str(credential.pk)})
    assert [hop["path"].partition("?")[0] for hop in a.seen] == ["/go", "/landing"]
    assert leaked(a.seen[1], values)


def test_once_stripped_the_credential_stays_off_when_a_redirect_comes_back(
        http_receiver, allow_loopback, create_credential):
    credential = create_credential(kind="api_key", secret={"header": "X-Key", "value": "k-12345"})
    a, b = http_receiver(), http_receiver()
    a.redirect_to, b.redirect_to = b.url + "/go", a.url + "/landing"
    call({"url": a.url + "/go", "credential": str(credential.pk)})
    assert [hop["path"] for hop in a.seen] == ["/go", "/landing"]
    assert "X-Key" in a.seen[0]["headers"]
    assert "X-Key" not in a.seen[1]["headers"]
    assert "X-Key" not in b.seen[0]["headers"]


def test_a_host_the_credential_is_not_allowed_for_is_refused_before_sending(
        http_receiver, allow_loopback, create_credential):
    a = http_receiver()
    credential = create_credential(name="Billing", allowed_hosts=["api.example.com"])
    with pytest.raises(NodeError) as exc:
        call({"url": a.url + "/echo", "credential": str(credential.pk)})
    assert exc.value.type == "credential_host"
    assert "'Billing'" in exc.value.message
    assert "'127.0.0.1:" in exc.value.message
    assert "api.example.com" in exc.value.message
    assert a.seen == []


def test_a_redirect_to_a_host_the_credential_is_not_allowed_for_is_not_followed(
        http_receiver, allow_loopback, create_credential):
    a, b = http_receiver(), http_receiver()
    a.redirect_to = f"http://localhost:{b.port}/landing"
    credential = create_credential(name="CRM", allowed_hosts=["127.0.0.1"])
    with pytest.raises(NodeError) as exc:
        call({"url": a.url + "/go", "credential": str(credential.pk)})
    assert exc.value.type == "credential_host"
    assert "'CRM'" in exc.value.message
    assert "'localhost:" in exc.value.message
    assert len(a.seen) == 1
    assert b.seen == []


def test_allowed_hosts_match_ports_and_subdomains(http_receiver, allow_loopback,
                                                  create_credential):
    a, b = http_receiver(), http_receiver()
    only_a = create_credential(allowed_hosts=[f"127.0.0.1:{a.port}"])
    assert call({"url": a.url + "/", "credential": str(only_a.pk)}).ports["out"]["status"] == 200
    with pytest.raises(NodeError, match="may not be sent to"):
        call({"url": b.url + "/", "credential": str(only_a.pk)})
    assert b.seen == []


def test_echoed_secrets_are_masked_in_the_output(http_receiver, allow_loopback,
                                                 kind_credential):
    credential, values = kind_credential
    a = http_receiver()
    out = call({"url": a.url + "/echo", "credential": str(credential.pk)}).ports
    assert leaked(a.seen[0], values)  # the server did get the secret and echoed it back
    assert leaked(out, values) == []
    assert SECRET_MASK in json.dumps(out)


def test_echoed_secrets_are_masked_in_errors(http_receiver, allow_loopback, kind_credential):
    credential, values = kind_credential
    a = http_receiver()
    with pytest.raises(NodeError) as exc:
        call({"url": a.url + "/deny", "credential": str(credential.pk)})
    assert exc.value.type == "http_status"
    assert leaked(exc.value.details, values) == []
    assert leaked(exc.value.message, values) == []


def test_the_engine_stores_masked_outputs(http_receiver, allow_loopback, create_credential,
                                          publish):
    a = http_receiver()
    secret, values = KINDS["api_key_query"]
    credential = create_credential(kind="api_key", secret=secret)
    workflow = publish(flow(("start", "trigger.manual"),
                            ("fetch", "http.request", {"url": a.url + "/echo",
                                                       "credential": str(credential.pk)}),
                            ("deny", "http.request", {"url": a.url + "/deny",
                                                      "credential": str(credential.pk),
                                                      "fail_on_error_status": False}),
                            edges=[("start", "fetch"), ("fetch", "deny")]))
    run = runs.run_start(workflow=workflow)
    for node_id in ("fetch", "deny"):
        row = NodeRun.objects.get(run=run, node_id=node_id)
        assert runs.node_run_execute(node_run_id=row.pk) == "succeeded"
    stored = list(NodeRun.objects.filter(run=run).values_list("outputs", "inputs", "error"))
    assert len(a.seen) == 2
    assert all(leaked(seen, values) for seen in a.seen)
    assert leaked(stored, values) == []


def test_log_lines_written_while_a_credential_is_in_use_are_masked(
        http_receiver, allow_loopback, create_credential, caplog, settings):
    assert "secrets" in settings.LOGGING["handlers"]["console"]["filters"]
    a = http_receiver()
    secret, values = KINDS["api_key_query"]
    credential = create_credential(kind="api_key", secret=secret)
    caplog.handler.addFilter(SecretLogFilter())
    caplog.set_level(logging.INFO, logger="httpx")
    with secret_scope():
        call({"url": a.url + "/echo", "credential": str(credential.pk)})
        logging.getLogger("weft.test").warning("sent %s", secret["value"],
                                               extra={"detail": {"key": secret["value"]}})
    assert "HTTP Request: GET" in caplog.text  # httpx logs the URL, query included
    assert leaked(caplog.text, values) == []
    assert leaked([record.__dict__.get("detail") for record in caplog.records], values) == []


def test_the_engine_masks_any_node_that_leaks_a_credential(publish, create_credential,
                                                           caplog):
    credential = create_credential(kind="basic", secret={"username": "ann",
                                                         "password": "pw-leaky-9999"})
    caplog.handler.addFilter(SecretLogFilter())
    leak = flow(("start", "trigger.manual"), ("leak", "test.leak",
                                              {"credential": str(credential.pk)}),
                ("boom", "test.leak", {"credential": str(credential.pk), "fail": True}),
                edges=[("start", "leak"), ("leak", "boom")])
    run = runs.run_start(workflow=publish(leak))
    for node_id in ("leak", "boom"):
        row = NodeRun.objects.get(run=run, node_id=node_id)
        runs.node_run_execute(node_run_id=row.pk)
    stored = list(NodeRun.objects.filter(run=run).values_list("outputs", "error"))
    run.refresh_from_db()
    assert NodeRun.objects.get(run=run, node_id="leak").outputs == {
        "out": {"secret": {"username": "ann", "password": SECRET_MASK}}}
    assert "failed with" in run.error["message"]
    assert leaked([stored, run.error], ["pw-leaky-9999"]) == []
    assert "using" in caplog.text
    assert leaked(caplog.text, ["pw-leaky-9999"]) == []
