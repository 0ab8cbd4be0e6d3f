"""The `data.pseudonymise` node: chosen fields become stable keyed hashes (the same person
gets the same pseudonym in every run; another key gives another one); without a key in
production it says so clearly, at publish and when it runs."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.nodes.base import NodeContext, NodeError
from apps.nodes.registry import registry
from apps.privacy.nodes import PseudonymiseConfig, PseudonymiseNode
from apps.privacy.selectors import pseudonym_key
from apps.runs import services as runs
from apps.runs.models import NodeRun
from tests.fixtures.runs import flow

RECORD = {"customer": {"email": "Ann@Example.com ", "name": "Ann"},
          "items": [{"buyer": "ann"}, {"buyer": "bob"}], "order": "A-1"}


def _run(value, **config):
    context = NodeContext(run_id="r", node_id="p", attempt=1, inputs={"in": value})
    return PseudonymiseNode().execute(context, PseudonymiseConfig(**config)).ports["out"]


def test_fields_become_stable_keyed_pseudonyms(settings):
    settings.WEFT_PSEUDONYM_KEY = "key-one"
    out = _run(RECORD, fields=["customer.email", "items.*.buyer"])
    assert out["order"] == "A-1"
    assert out["customer"]["name"] == "Ann"
    assert len(out["customer"]["email"]) == 32
    assert out["customer"]["email"] != "Ann@Example.com "
    # case and spaces do not matter by default; the same value gives the same pseudonym
    again = _run({"customer": {"email": "ann@example.com"}}, fields=["customer.email"])
    assert again["customer"]["email"] == out["customer"]["email"]
    assert out["items"][0]["buyer"] != out["items"][1]["buyer"]
    assert RECORD["customer"]["email"] == "Ann@Example.com "  # the input is not changed
    settings.WEFT_PSEUDONYM_KEY = "key-two"
    assert _run(RECORD, fields=["customer.email"])["customer"]["email"] != \
        out["customer"]["email"]
    exact = _run(RECORD, fields=["customer.email"], normalise=False, length=64)
    assert len(exact["customer"]["email"]) == 64


def test_a_missing_key_in_production_is_a_clear_error(settings):
    settings.WEFT_PSEUDONYM_KEY = ""
    settings.PRODUCTION = True
    with pytest.raises(ImproperlyConfigured, match="WEFT_PSEUDONYM_KEY must be set"):
        pseudonym_key()
    with pytest.raises(NodeError, match="WEFT_PSEUDONYM_KEY"):
        _run(RECORD, fields=["customer.email"])
    config = PseudonymiseConfig(fields=["customer.email"])
    assert [p.code for p in PseudonymiseNode.check_environment(config)] == ["no_pseudonym_key"]
    settings.PRODUCTION = False
    assert PseudonymiseNode.check_environment(config) == []  # outside production: derived


@pytest.mark.django_db
def test_the_node_runs_in_a_workflow(publish):
    assert registry.get("data.pseudonymise") is PseudonymiseNode
    graph = flow(("start", "trigger.manual"),
                 ("hide", "data.pseudonymise", {"fields": ["email"]}),
                 edges=[("start", "hide")])
    run = runs.run_start(workflow=publish(graph), input={"email": "ann@example.com", "n": 1})
    out = NodeRun.objects.get(run=run, node_id="hide").outputs["out"]
    assert out["n"] == 1
    assert out["email"] != "ann@example.com"
    with pytest.raises(ValueError, match="dotted path"):
        PseudonymiseConfig(fields=["a..b"])


@pytest.mark.django_db
@pytest.mark.parametrize(("policy", "taken"), [
    ({"on_error": "error_port"}, "handled"),
    ({"on_error": "default_output", "default_output": {"email": "withheld"}}, "after"),
    (None, None),
])
def test_a_pseudonymise_without_its_key_follows_its_failure_policy(publish, settings, policy,
                                                                   taken):
    """It cannot fail on the run's data; what fails it is a key gone missing after publish
    (production without WEFT_PSEUDONYM_KEY): its policy says whether the run goes on."""
    config = {"fields": ["email"], **({"policy": policy} if policy else {})}
    graph = flow(("start", "trigger.manual"), ("hide", "data.pseudonymise", config),
                 ("after", "core.noop"), ("handled", "core.noop"),
                 edges=[("start", "hide"), ("hide", "after"),
                        ("hide", "error", "handled", "in")])
    workflow = publish(graph)
    settings.WEFT_PSEUDONYM_KEY = ""
    settings.PRODUCTION = True
    run = runs.run_start(workflow=workflow, input={"email": "ann@example.com"})
    rows = {r.node_id: r for r in NodeRun.objects.filter(run=run)}
    assert rows["hide"].error["type"] == "configuration"
    if taken is None:  # by default the run stops, as before the policy
        assert run.status == "failed"
        return
    assert run.status == "succeeded", run.error
    assert rows[taken].status == "succeeded"
    assert rows["after" if taken == "handled" else "handled"].status == "skipped"
    if taken == "after":
        assert rows["after"].inputs["in"] == {"email": "withheld"}
    else:  # the error port gets the error and the input, to handle it
        assert "WEFT_PSEUDONYM_KEY" in rows["handled"].inputs["in"]["message"]
