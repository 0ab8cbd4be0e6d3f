"""The `inference.triton` node type: config schema, execute() against the real
server with real CEL, and the publish-time check against model metadata."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from apps.inference.client import Connection, TritonClient
from apps.inference.errors import ConfigError, InputError
from apps.inference.nodes import (
    ExpressionError,
    TritonInference,
    TritonInferenceConfig,
    check_against_metadata,
)
from apps.nodes.base import NodeContext
from apps.nodes.registry import registry

Evaluate = Callable[[str, dict[str, Any]], Any]


def _context(
    connection: Connection, evaluate: Evaluate, value: Any, *, as_callable: bool = False
) -> NodeContext:
    servers = {"local": connection}
    triton_service = servers.get if as_callable else servers
    return NodeContext(
        run_id="run-1",
        node_id="classify",
        attempt=1,
        inputs={"in": value},
        services={"triton": triton_service, "expressions": evaluate},
    )


def _config(**overrides: Any) -> TritonInferenceConfig:
    fields = {
        "server": "local",
        "model": "ticket_urgency",
        "inputs": {"text": 'input.subject + ". " + input.body'},
    }
    return TritonInferenceConfig(**{**fields, **overrides})


def test_node_type_is_registered_with_its_schema() -> None:
    node_type = registry.get("inference.triton")
    assert node_type is TritonInference
    assert (node_type.category, node_type.queue) == ("ai", "inference")
    schema = node_type.describe()["config_schema"]
    assert schema["properties"]["inputs"]["x-weft-widget"] == "cel"
    assert set(schema["required"]) == {"server", "model"}
    assert [p["name"] for p in node_type.describe()["outputs"]] == ["out", "error"]


def test_config_rejects_bad_fields() -> None:
    with pytest.raises(ValidationError, match="version"):
        _config(version="latest")
    with pytest.raises(ValidationError, match="colour"):
        _config(colour="red")


def test_version_1_retry_fields_become_the_engine_policy() -> None:
    node = {"id": "classify", "type": "inference.triton", "version": 1, "config": {
        "server": "local", "model": "ticket_urgency", "inputs": {"text": "input.text"},
        "max_attempts": 5, "backoff_s": 2, "backoff_max_s": 5}}
    upgraded = registry.upgrade_node(node)
    assert upgraded["version"] == TritonInference.version == 2
    config = TritonInferenceConfig.model_validate(upgraded["config"])
    assert (config.policy.retries, config.policy.backoff_s, config.policy.backoff_max_s,
            config.policy.on_error) == (4, 2, 5, "error_port")
    assert node["config"]["max_attempts"] == 5  # the stored graph is left as it was
    assert _config().policy.retries == 2  # network nodes retry twice by default


@pytest.mark.parametrize("as_callable", [False, True])
def test_execute_classifies_one_ticket(
    connection: Connection, cel_evaluate: Evaluate, as_callable: bool
) -> None:
    ticket = {"subject": "Production outage", "body": "Nobody can log in, everything returns 500."}
    result = TritonInference().execute(
        _context(connection, cel_evaluate, ticket, as_callable=as_callable), _config()
    )
    out = result.ports["out"]
    assert out["label"] == "critical"
    assert out["confidence"] > 0.5
    assert out["outputs"]["label"] == "critical"
    assert len(out["outputs"]["probabilities"]) == 4
    assert (out["model"], out["version"]) == ("ticket_urgency", "1")
    assert out["latency_ms"] > 0


def test_execute_batches_a_list_and_keeps_the_order(
    connection: Connection, cel_evaluate: Evaluate
) -> None:
    tickets = [
        "Feature request: dark mode, no rush",
        "Site down, revenue impact, need help now",
    ] * 40
    config = _config(inputs={"text": "input.tickets.map(t, t.text)"}, outputs=["label"])
    out = (
        TritonInference()
        .execute(
            _context(connection, cel_evaluate, {"tickets": [{"text": t} for t in tickets]}), config
        )
        .ports["out"]
    )
    assert out["count"] == 80
    assert [item["label"] for item in out["items"]] == ["low", "critical"] * 40
    assert all(set(item["outputs"]) == {"label"} for item in out["items"])
    assert 0 < out["min_confidence"] <= 1


def test_unknown_server_is_a_config_error(connection: Connection, cel_evaluate: Evaluate) -> None:
    with pytest.raises(ConfigError, match="'elsewhere' is not a configured Triton server"):
        TritonInference().execute(
            _context(connection, cel_evaluate, {}), _config(server="elsewhere")
        )


def test_failing_expression_names_the_input(connection: Connection, cel_evaluate: Evaluate) -> None:
    with pytest.raises(ExpressionError, match="input 'text'") as err:
        TritonInference().execute(
            _context(connection, cel_evaluate, {"subject": "no body"}), _config()
        )
    assert err.value.input == "text"
    assert not err.value.retryable


def test_value_that_does_not_fit_names_the_input(
    connection: Connection, cel_evaluate: Evaluate
) -> None:
    config = _config(
        model="invoice_risk", inputs={"features": "[1.0, 2.0, 'x', 4.0, 5.0, 6.0, 7.0, 8.0]"}
    )
    with pytest.raises(InputError, match="input 'features' has a value \"x\" that is not a number"):
        TritonInference().execute(_context(connection, cel_evaluate, {}), config)


def test_check_reports_cel_syntax_errors() -> None:
    problems = TritonInference().check(_config(inputs={"text": "input.body +", "other": " "}))
    assert problems[0].startswith("inputs.text: ")
    assert "Syntax error" in problems[0]
    assert problems[1] == "inputs.other: the expression is empty"


def test_check_against_metadata(client: TritonClient) -> None:
    spec = client.model_spec("ticket_urgency")
    assert check_against_metadata(_config(outputs=["label"], version="1"), spec) == []
    problems = check_against_metadata(
        _config(inputs={"textx": "input.body"}, outputs=["score"], version="7"), spec
    )
    assert problems == [
        "inputs.textx: model 'ticket_urgency' has no input 'textx' (its inputs: text)",
        "inputs: model 'ticket_urgency' requires input 'text', which has no expression",
        "outputs: model 'ticket_urgency' has no output 'score' (its outputs: probabilities, label)",
        "version: model 'ticket_urgency' has no version 7 (it has: 1)",
    ]
    echo = client.model_spec("echo")  # every input optional: nothing is missing
    assert check_against_metadata(_config(model="echo", inputs={"int8": "[1]"}), echo) == []


def test_the_invoice_model_explains_itself_exactly(connection: Connection,
                                                   cel_evaluate: Evaluate) -> None:
    """The node passes the model's per-feature contributions on as `explanation`; for
    the linear demo model they add up, with its bias, to the log-odds it answered."""
    import math

    from models.invoice_risk import FEATURES, InvoiceRiskModel

    risky = [5.5, 2, 0.2, 3, 1, 1, 1, 0]
    config = _config(model="invoice_risk", inputs={"features": "input.features"})
    out = TritonInference().execute(
        _context(connection, cel_evaluate, {"features": risky}), config).ports["out"]
    assert out["label"] == "risky"
    explanation = out["explanation"]
    assert [item["feature"] for item in explanation] == list(FEATURES)
    bias = InvoiceRiskModel.load().bias
    logit = sum(item["contribution"] for item in explanation) + bias
    # the label is "risky", so its confidence is P(risky) = sigmoid(log-odds)
    assert 1 / (1 + math.exp(-logit)) == pytest.approx(out["confidence"], abs=1e-4)
    top = max(explanation, key=lambda item: item["contribution"])
    assert top["contribution"] > 0  # something pushed it towards "risky"


@pytest.mark.parametrize("left_empty", [{}, {"version": ""}, {"server": "", "model": ""}])
def test_a_shadow_section_left_empty_means_no_shadow(left_empty):
    """The inspector's form sends the optional shadow section empty: no problem, no shadow."""
    from apps.inference.nodes import TritonInferenceConfig

    config = TritonInferenceConfig.model_validate(
        {"server": "local", "model": "ticket_urgency", "inputs": {"text": "input.text"},
         "shadow": left_empty})
    assert config.shadow is None
