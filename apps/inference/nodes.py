"""The `inference.triton` node type: call a model served by Triton.

The engine provides two services in `context.services`:
- "triton": server name -> an object with `url`, `protocol`, `headers` (and
  optionally `models`): a callable or a mapping;
- "expressions": `evaluate(expression, data) -> value`, CEL over
  {"input", "nodes", "run", "vars"};
- optionally "inference_record": called with `server=`, `result=`, `run_id=`,
  `node_id=` after each successful call (apps.inference.services.inference_call_record
  writes the `inference.call` audit event);
- optionally "model_calls": called with `server=`, `model=`, `version=`, `latency_ms=`,
  `predictions=`, `error_type=`, `batch_size=`, `run_id=`, `node_id=` for every call,
  answered or failed (apps.oversight.recording.model_calls_record: model oversight);
- optionally "model_shadow": called with `shadow=`, `values=`, `run_id=`, `node_id=`
  after the primary answered, to send the same inputs to a shadow model out of band.
Recording and the shadow are best effort: they never fail, delay or change the run.
Failures raise `InferenceError`s (node errors): `retryable` says whether the
engine's policy (`config.policy`: retries with backoff, then the `error` port or a
default output) may try again; the node itself never waits to retry.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import Field, field_validator

from apps.expressions.core import check
from apps.expressions.services import expression_data
from apps.inference import codec
from apps.inference.batching import InferenceCall
from apps.inference.checks import metadata_problems
from apps.inference.client import Connection, check_outputs, plan_items, shared_client
from apps.inference.errors import (
    ConfigError,
    InferenceError,
    InputError,
    ModelNotFound,
    OutputError,
)
from apps.inference.spec import ModelSpec
from apps.nodes.base import (
    ERROR_PORT,
    EnvironmentProblem,
    ExecutionPolicy,
    NodeConfig,
    NodeContext,
    NodeType,
    Outputs,
    Port,
    policy_field,
)
from apps.nodes.registry import registry

Evaluate = Callable[[str, Mapping[str, Any]], Any]
logger = logging.getLogger("weft.inference.nodes")


class ShadowModel(NodeConfig):
    """The model that gets the same inputs out of band."""

    server: str = Field(min_length=1, title="Server",
                        description="A configured Triton server, by name.")
    model: str = Field(min_length=1, title="Model", description="The model's name on that server.")
    version: str = Field("", pattern=r"^[0-9]*$", title="Version",
                         description="Empty: the latest.")


class TritonInferenceConfig(NodeConfig):
    # The editor draws pickers for these (`x-weft-widget`) and one expression field per
    # input of the chosen model (`x-weft-field`); the stored shape is unchanged.
    server: str = Field(
        min_length=1, title="Server", description="A registered Triton server.",
        json_schema_extra={"x-weft-widget": "triton-server"},
    )
    model: str = Field(min_length=1, title="Model", description="A model that server serves.",
                       json_schema_extra={"x-weft-widget": "triton-model"})
    version: str = Field("", pattern=r"^[0-9]*$", title="Version",
                         description="Empty: the latest.",
                         json_schema_extra={"x-weft-widget": "triton-version"})
    inputs: dict[str, str] = Field(
        default_factory=dict,
        title="Inputs",
        description="For each model input, an expression giving its value. A list where the "
        "model takes one item is sent as a batch and gives one result per item.",
        json_schema_extra={"x-weft-widget": "cel", "x-weft-field": "model-inputs"},
    )
    outputs: list[str] = Field(
        default_factory=list, title="Outputs to keep", description="Empty: all of them."
    )
    timeout_s: float = Field(10.0, gt=0, le=300, title="Timeout (s)", description="Per request.")
    shadow: ShadowModel | None = Field(
        None, title="Shadow model",
        description="Another model (or version) that gets the same inputs after this one "
        "answered, out of band: compared on the model page, never changing the run.")
    policy: ExecutionPolicy = policy_field(retries=2)

    @field_validator("shadow", mode="before")
    @classmethod
    def _no_shadow_when_left_empty(cls, value: Any) -> Any:
        """The form's empty shadow section (no server, no model) means no shadow."""
        if isinstance(value, dict) and not any(value.get(k) for k in ("server", "model")):
            return None
        return value


def _upgrade_v1(config: dict[str, Any]) -> dict[str, Any]:
    """Version 1 kept its own retry fields (read by nothing) and drew an `error` port
    that never fired: they become the engine's policy, taking that port."""
    attempts = config.pop("max_attempts", 3)
    backoff_s = config.pop("backoff_s", 1.0)
    backoff_max_s = config.pop("backoff_max_s", 60.0)
    config["policy"] = {"retries": max(0, min(10, int(attempts) - 1)),
                        "backoff_s": backoff_s, "backoff_max_s": backoff_max_s,
                        "on_error": "error_port"}
    return config


class ExpressionError(InputError):
    code = "expression_error"


@registry.register
class TritonInference(NodeType):
    type = "inference.triton"
    version = 2
    category = "ai"
    label = "Model inference"
    description = (
        "Sends values to a model served by Triton and returns its outputs, with the "
        "label and confidence of a classifier; lists are batched."
    )
    icon = "cpu"
    queue = "inference"
    inputs = (Port("in"),)
    outputs = (Port("out"), Port(ERROR_PORT, label="On error", required=False))
    Config = TritonInferenceConfig
    upgrades = {1: _upgrade_v1}

    def check(self, config: TritonInferenceConfig) -> list[str]:  # type: ignore[override]
        return check_expressions(config)

    @classmethod
    def check_environment(cls, config: TritonInferenceConfig) -> list[EnvironmentProblem]:  # type: ignore[override]
        """At publish: the server exists and answers, and the model's metadata fits."""
        from apps.inference.selectors import triton_node_problems  # Django: the server rows

        return triton_node_problems(
            server_name=config.server, model=config.model, version=config.version, config=config
        )

    # On the I/O executor (queue `inference`): awaited on its event loop, rows of
    # concurrent runs batched (apps.inference.batching); `execute` elsewhere.
    waits_on_network = True

    def prepare(self, context: NodeContext, config: TritonInferenceConfig) -> InferenceCall:  # type: ignore[override]
        """Evaluate and encode the inputs against the model's spec (cached) here, on
        the delivering thread; the call itself is awaited on the loop."""
        from django.conf import settings  # (this module is also used without Django)

        connection = resolve_server(context.services, config.server)
        values = evaluate_inputs(context, config)
        started = time.perf_counter()
        try:
            spec = shared_client(connection, timeout_s=config.timeout_s).model_spec(
                config.model, config.version)
            check_outputs(spec, config.outputs)
            plan = plan_items(spec, values)
            tensors = {name: codec.encode(spec.input(name), items, model=spec.name,  # type: ignore[arg-type]
                                          first_index=0 if plan.batched else None,
                                          batched=spec.batches)
                       for name, items in plan.columns.items()}
        except InferenceError as exc:  # refused before sending: recorded as on the threaded path
            call_failed(context, config, exc, started, values)
            raise
        return InferenceCall(
            connection=connection, spec=spec, version=config.version, tensors=tensors,
            rows=plan.size, batched=plan.batched, outputs=tuple(config.outputs),
            linger_s=settings.WEFT_INFERENCE_LINGER_MS / 1000,
            answered=lambda result: call_answered(context, config, result, values),
            failed=lambda exc, started: call_failed(context, config, exc, started, values))

    def execute(self, context: NodeContext, config: TritonInferenceConfig) -> Outputs:  # type: ignore[override]
        connection = resolve_server(context.services, config.server)
        values = evaluate_inputs(context, config)
        client = shared_client(connection, timeout_s=config.timeout_s)
        started = time.perf_counter()
        try:
            result = client.infer(config.model, values, version=config.version,
                                  outputs=config.outputs)
        except InferenceError as exc:
            calls_record(context, config, error=exc, started=started, values=values)
            raise
        call_answered(context, config, result, values)
        return Outputs({"out": result.as_output()})


def call_failed(context: NodeContext, config: TritonInferenceConfig, error: Exception,
                started: float, values: Mapping[str, Any]) -> None:
    """After the call failed on the event loop: record it, and, as the threaded path does,
    read the model's spec again next time when the model did not take the request (it
    changed, or it is loading again after its server restarted)."""
    calls_record(context, config, error=error, started=started, values=values)  # type: ignore[arg-type]
    if isinstance(error, InputError | OutputError | ModelNotFound):
        connection = resolve_server(context.services, config.server)
        shared_client(connection, timeout_s=config.timeout_s).spec_forget(config.model,
                                                                          config.version)


def call_answered(context: NodeContext, config: TritonInferenceConfig, result: Any,
                  values: Mapping[str, Any]) -> None:
    """After the model answered, on either path: record the call (model oversight and the
    optional audit record) and hand the inputs to the shadow model."""
    calls_record(context, config, result=result)
    record = context.services.get("inference_record")
    if callable(record):
        record(server=config.server, result=result, run_id=context.run_id,
               node_id=context.node_id)
    if config.shadow is not None:
        shadow_send(context, config.shadow, values)


def calls_record(context: NodeContext, config: TritonInferenceConfig, *, result: Any = None,
                 error: InferenceError | None = None, started: float = 0.0,
                 values: Mapping[str, Any] | None = None) -> None:
    """The one place a call is recorded for model oversight, whatever executes the node;
    never raises."""
    record = context.services.get("model_calls")
    if not callable(record):
        return
    try:
        if result is not None:
            record(server=config.server, model=result.model, version=result.version,
                   latency_ms=result.latency_ms, predictions=result.predictions,
                   run_id=context.run_id, node_id=context.node_id)
        else:
            size = max((len(v) for v in (values or {}).values() if isinstance(v, list)),
                       default=1)
            record(server=config.server, model=config.model, version=config.version,
                   latency_ms=(time.perf_counter() - started) * 1000,
                   error_type=getattr(error, "code", "") or type(error).__name__,
                   batch_size=size, run_id=context.run_id, node_id=context.node_id)
    except Exception:  # noqa: BLE001 - recording never fails the run
        logger.warning("could not record the model call", exc_info=True)


def shadow_send(context: NodeContext, shadow: ShadowModel, values: Mapping[str, Any]) -> None:
    """Hand the inputs to the shadow model's out-of-band call; never raises."""
    send = context.services.get("model_shadow")
    if not callable(send):
        return
    try:
        send(shadow=shadow.model_dump(), values=dict(values), run_id=context.run_id,
             node_id=context.node_id)
    except Exception:  # noqa: BLE001 - a shadow never fails the run
        logger.warning("could not send the shadow call", exc_info=True)


def _evaluator(services: Mapping[str, Any]) -> Evaluate:
    evaluate = services.get("expressions")
    evaluate = getattr(evaluate, "evaluate", evaluate)
    if not callable(evaluate):
        raise ConfigError("no expression evaluator is available to this node")
    return evaluate


def evaluate_inputs(context: NodeContext, config: TritonInferenceConfig) -> dict[str, Any]:
    evaluate, data = _evaluator(context.services), expression_data(context)
    values = {}
    for name, expression in config.inputs.items():
        try:
            values[name] = evaluate(expression, data)
        except Exception as exc:  # noqa: BLE001 - any failure of an expression is the user's to fix
            raise ExpressionError(
                f"input {name!r}: the expression {expression!r} failed: "
                f"{type(exc).__name__}: {exc}",
                model=config.model,
                input=name,
            ) from exc
    return values


def resolve_server(services: Mapping[str, Any], name: str) -> Connection:
    servers = services.get("triton")
    try:
        if callable(servers):
            server = servers(name)
        elif isinstance(servers, Mapping):
            server = servers[name]
        else:
            raise ConfigError("no Triton servers are available to this node")
    except LookupError:
        server = None
    if server is None:
        raise ConfigError(f"server {name!r} is not a configured Triton server")
    return Connection.of(server)


def check_expressions(config: TritonInferenceConfig) -> list[str]:
    problems = []
    for name, expression in config.inputs.items():
        if not expression.strip():
            problems.append(f"inputs.{name}: the expression is empty")
            continue
        error = check(expression)
        if error is not None:
            at = f" (at character {error.position})" if error.position is not None else ""
            problems.append(f"inputs.{name}: {error.message}{at}")
    return problems


def check_against_metadata(config: TritonInferenceConfig, metadata: ModelSpec) -> list[str]:
    """Publish-time problems of a config against the model's metadata, as text that
    starts with the field (apps.inference.checks has them as data)."""
    return [str(problem) for problem in metadata_problems(config, metadata)]
