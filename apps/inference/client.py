"""A thin adapter over tritonclient (HTTP and gRPC) speaking JSON.

    client = TritonClient(Connection.create("127.0.0.1:8000", "http", models=("echo",)))
    client.list_models()                      # names, versions, readiness
    client.model_spec("ticket_urgency")       # inputs, outputs, datatypes, shapes, batch size
    client.infer("ticket_urgency", {"text": "Production is down"})            # one item
    client.infer("ticket_urgency", {"text": ["Production is down", "Thanks!"]})  # a list: batched

A list where the model expects one item is a batch: it is split into requests
of at most the model's max_batch_size, sent in parallel (up to `max_parallel`)
and reassembled in order. Every failure is an `InferenceError` (errors.py)
that says whether trying again may help. No Django here.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient

from apps.inference import codec
from apps.inference.errors import (
    InferenceError,
    InputError,
    ModelError,
    ModelNotFound,
    OutputError,
    ServerUnavailable,
    from_exception,
)
from apps.inference.spec import ModelSpec, TensorSpec, model_spec_from

Transport = Literal["http", "grpc"]
HTTP_TOKEN_HEADER = "triton-access-token"
GRPC_TOKEN_HEADER = "triton-grpc-protocol-triton-access-token"
T = TypeVar("T")


def auth_headers(protocol: str, access_token: str) -> dict[str, str]:
    """Headers (HTTP) or call metadata (gRPC) carrying a PyTriton access token."""
    if not access_token:
        return {}
    return {GRPC_TOKEN_HEADER if protocol == "grpc" else HTTP_TOKEN_HEADER: access_token}


class ServerLike(Protocol):
    url: str
    protocol: str
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Connection:
    """Where a Triton server is and how to talk to it; hashable, so clients can be cached."""

    url: str
    protocol: Transport = "http"
    headers: tuple[tuple[str, str], ...] = ()
    models: tuple[str, ...] = ()  # what the server is configured to serve: the fallback for listing
    # TLS (an https:// or grpcs:// url): check the server's certificate, against ca_path if given.
    # gRPC always checks it; verify=False applies to HTTP only.
    verify: bool = True
    ca_path: str = ""

    @classmethod
    def create(
        cls,
        url: str,
        protocol: str = "http",
        headers: Mapping[str, str] | None = None,
        models: Iterable[str] = (),
        *,
        verify: bool = True,
        ca_path: str = "",
    ) -> Connection:
        if protocol not in ("http", "grpc"):
            raise ValueError(f"protocol must be 'http' or 'grpc', not {protocol!r}")
        return cls(
            url,
            protocol,  # type: ignore[arg-type]
            tuple(sorted((headers or {}).items())),
            tuple(models),
            verify=verify,
            ca_path=ca_path,
        )

    @classmethod
    def of(cls, server: ServerLike | Connection) -> Connection:
        if isinstance(server, Connection):
            return server
        return cls.create(
            server.url,
            server.protocol,
            dict(server.headers or {}),
            getattr(server, "models", ()) or (),
            verify=bool(getattr(server, "verify", True)),
            ca_path=str(getattr(server, "ca_path", "") or ""),
        )

    @property
    def address(self) -> str:
        """host:port, as tritonclient wants it (no scheme)."""
        return self.url.split("://", 1)[-1].rstrip("/")

    @property
    def ssl(self) -> bool:
        return self.url.startswith(("https://", "grpcs://"))

    @property
    def header_dict(self) -> dict[str, str]:
        return dict(self.headers)


@dataclass(frozen=True)
class ModelStatus:
    name: str
    versions: tuple[str, ...]
    ready: bool
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "versions": list(self.versions),
            "ready": self.ready,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Prediction:
    """One item's outputs, with the argmax of a probability output when there is one."""

    outputs: dict[str, Any]
    label: str | None = None
    confidence: float | None = None
    scores: dict[str, float] | None = None
    # Feature contributions when the model returns an `explanation` output.
    explanation: list[dict[str, Any]] | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"outputs": self.outputs}
        if self.label is not None:
            data["label"] = self.label
        if self.confidence is not None:
            data["confidence"] = self.confidence
        if self.scores is not None:
            data["scores"] = self.scores
        if self.explanation is not None:
            data["explanation"] = self.explanation
        return data


@dataclass(frozen=True)
class InferenceResult:
    model: str
    version: str
    predictions: list[Prediction]
    batched: bool  # the input was a list of items: one prediction per item, in order
    latency_ms: float
    requests: int = 1

    def as_output(self) -> dict[str, Any]:
        """The node's `out` value: a prediction's fields for one item, `items` for a list."""
        head = {
            "model": self.model,
            "version": self.version,
            "latency_ms": round(self.latency_ms, 3),
        }
        if not self.batched:
            return {**self.predictions[0].as_dict(), **head}
        confidences = [p.confidence for p in self.predictions if p.confidence is not None]
        extra = {"min_confidence": min(confidences)} if confidences else {}
        return {
            "items": [p.as_dict() for p in self.predictions],
            "count": len(self.predictions),
            **extra,
            **head,
        }


@dataclass
class _Plan:
    """What to send: per input, one full-rank item per row."""

    batched: bool
    size: int
    columns: dict[str, list[Any]] = field(default_factory=dict)


class TritonClient:
    def __init__(
        self,
        connection: Connection | ServerLike,
        *,
        timeout_s: float = 10.0,
        max_parallel: int = 4,
        spec_ttl_s: float = 30.0,
    ) -> None:
        self.connection = Connection.of(connection)
        self.timeout_s = timeout_s
        self.max_parallel = max(1, max_parallel)
        self.spec_ttl_s = spec_ttl_s
        self._local = threading.local()
        self._lock = threading.Lock()
        self._raw_clients: list[Any] = []
        self._executor: ThreadPoolExecutor | None = None
        self._specs: dict[tuple[str, str], tuple[float, ModelSpec]] = {}

    # -- plumbing ---------------------------------------------------------------

    @property
    def _grpc(self) -> bool:
        return self.connection.protocol == "grpc"

    def _raw(self) -> Any:
        """This thread's tritonclient client (the HTTP one is not thread-safe)."""
        raw = getattr(self._local, "client", None)
        if raw is None:
            connection = self.connection
            if self._grpc:
                raw = grpcclient.InferenceServerClient(
                    connection.address,
                    ssl=connection.ssl,
                    root_certificates=(connection.ca_path or None) if connection.ssl else None,
                )
            else:
                raw = httpclient.InferenceServerClient(
                    connection.address,
                    ssl=connection.ssl,
                    ssl_context_factory=_ssl_context_factory(connection)
                    if connection.ssl
                    else None,
                    insecure=connection.ssl and not connection.verify,
                    concurrency=1,
                    connection_timeout=self.timeout_s,
                    network_timeout=self.timeout_s,
                )
            self._local.client = raw
            with self._lock:
                self._raw_clients.append(raw)
        return raw

    def _call(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        kwargs["headers"] = self.connection.header_dict or None
        if self._grpc:
            kwargs["client_timeout"] = self.timeout_s
        try:
            return getattr(self._raw(), method)(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - every tritonclient failure is translated
            raise from_exception(exc, model=model, url=self.connection.url) from exc

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    self.max_parallel, thread_name_prefix="weft-triton"
                )
            return self._executor

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
            clients, self._raw_clients = self._raw_clients, []
            self._local = threading.local()  # a later call opens fresh connections
        if executor:
            executor.shutdown(wait=True, cancel_futures=True)
        for raw in clients:
            raw.close()

    def __enter__(self) -> TritonClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- server and models ------------------------------------------------------

    def is_server_ready(self) -> bool:
        try:
            return bool(self._call("", "is_server_ready"))
        except InferenceError:
            return False

    def ensure_ready(self) -> None:
        """Raise ServerUnavailable (with the reason) unless the server answers and is ready."""
        if not self._call("", "is_server_ready"):
            raise ServerUnavailable(f"Triton at {self.connection.url} is up but not ready")

    def is_model_ready(self, name: str) -> bool:
        """The model is loaded and answers (False while it loads, or when the server
        does not know it)."""
        return bool(self._call(name, "is_model_ready", name))

    def list_models(self) -> list[ModelStatus]:
        """Models from the repository index, plus the configured ones (the index can
        come back empty from PyTriton although its models are ready)."""
        index = self._repository_index()
        names = list(dict.fromkeys([*index, *self.connection.models]))
        return [self._model_status(name, index.get(name, {})) for name in names]

    def _repository_index(self) -> dict[str, dict[str, Any]]:
        try:
            if self._grpc:
                entries = self._call("", "get_model_repository_index", as_json=True).get(
                    "models", []
                )
            else:
                entries = self._call("", "get_model_repository_index")
        except InferenceError:
            return {}  # closed endpoint (403) or an old server: fall back to the configured list
        return {e["name"]: e for e in entries or []}

    def _model_status(self, name: str, entry: Mapping[str, Any]) -> ModelStatus:
        ready = self.is_model_ready(name)
        versions: tuple[str, ...] = (str(entry["version"]),) if entry.get("version") else ()
        if ready:
            versions = self.model_spec(name).versions or versions
        return ModelStatus(name, versions, ready, str(entry.get("reason", "")))

    def spec_forget(self, model: str, version: str = "") -> None:
        """Read the model's spec again next time (it may have changed, or be loading)."""
        self._specs.pop((model, version), None)

    def model_spec(self, model: str, version: str = "", *, refresh: bool = False) -> ModelSpec:
        """Inputs, outputs, datatypes, shapes and batch size; cached for spec_ttl_s."""
        key = (model, version)
        cached = self._specs.get(key)
        if cached and not refresh and cached[0] > time.monotonic():
            return cached[1]
        if self._grpc:
            metadata = self._call(model, "get_model_metadata", model, version, as_json=True)
            config = self._call(model, "get_model_config", model, version, as_json=True)
        else:
            metadata = self._call(model, "get_model_metadata", model, version)
            config = self._call(model, "get_model_config", model, version)
        spec = model_spec_from(metadata, config)
        self._specs[key] = (time.monotonic() + self.spec_ttl_s, spec)
        return spec

    # -- inference --------------------------------------------------------------

    def infer(
        self,
        model: str,
        inputs: Mapping[str, Any],
        *,
        version: str = "",
        outputs: Sequence[str] = (),
    ) -> InferenceResult:
        """JSON values per input name -> predictions. A list where the model takes
        one item is a batch (see module docs); other inputs are repeated for each item."""
        started = time.perf_counter()
        spec = self.model_spec(model, version)
        try:
            check_outputs(spec, outputs)
            plan = plan_items(spec, inputs)
            chunks = _chunks(plan.size, spec.max_batch_size if plan.batched else plan.size)
            parts = self._map(lambda c: self._infer_chunk(spec, version, plan, c), chunks)
        except (InputError, OutputError, ModelNotFound):
            self.spec_forget(model, version)  # the model may have changed under us
            raise
        predictions = [p for part in parts for p in part[1]]
        if outputs:
            predictions = [_only(p, outputs) for p in predictions]
        served = parts[0][0] if parts else (version or (spec.versions[-1] if spec.versions else ""))
        latency_ms = (time.perf_counter() - started) * 1000
        return InferenceResult(model, served, predictions, plan.batched, latency_ms, len(chunks))

    def _map(self, fn: Callable[[range], T], chunks: list[range]) -> list[T]:
        if len(chunks) <= 1:
            return [fn(c) for c in chunks]
        futures: list[Future[T]] = [self._pool().submit(fn, c) for c in chunks]
        try:
            return [f.result() for f in futures]
        finally:
            for f in futures:
                f.cancel()

    def _infer_chunk(
        self, spec: ModelSpec, version: str, plan: _Plan, rows: range
    ) -> tuple[str, list[Prediction]]:
        tensors = {
            name: codec.encode(
                spec.input(name),
                items[rows.start : rows.stop],
                model=spec.name,  # type: ignore[arg-type]
                first_index=rows.start if plan.batched else None,
                batched=spec.batches,
            )
            for name, items in plan.columns.items()
        }
        result = self._call(
            spec.name, "infer", spec.name, self._infer_inputs(spec, tensors), model_version=version
        )
        arrays = output_arrays(spec, result, len(rows) if spec.batches else None)
        served = _served_version(result, self._grpc)
        return served, _predictions(spec, arrays, len(rows))

    def _infer_inputs(self, spec: ModelSpec, tensors: Mapping[str, np.ndarray]) -> list[Any]:
        module = grpcclient if self._grpc else httpclient
        infer_inputs = []
        for name, tensor in tensors.items():
            infer_input = module.InferInput(name, list(tensor.shape), spec.input(name).datatype)  # type: ignore[union-attr]
            infer_input.set_data_from_numpy(tensor)
            infer_inputs.append(infer_input)
        return infer_inputs


def _ssl_context_factory(connection: Connection) -> Callable[[], Any]:
    import gevent.ssl

    if not connection.verify:
        return gevent.ssl._create_unverified_context
    return functools.partial(gevent.ssl.create_default_context, cafile=connection.ca_path or None)


# -- clients shared within a process --------------------------------------------

_SHARED: OrderedDict[tuple[Connection, float], TritonClient] = OrderedDict()
_SHARED_LOCK = threading.Lock()
_SHARED_KEPT = 16


def shared_client(connection: Connection, *, timeout_s: float) -> TritonClient:
    """One client per server and timeout in this process, so that connections
    and model metadata are reused from one node run to the next."""
    key = (connection, timeout_s)
    with _SHARED_LOCK:
        client = _SHARED.pop(key, None) or TritonClient(connection, timeout_s=timeout_s)
        _SHARED[key] = client
        evicted = [_SHARED.popitem(last=False)[1] for _ in range(len(_SHARED) - _SHARED_KEPT)]
    for old in evicted:
        old.close()
    return client


def close_shared_clients() -> None:
    """At worker shutdown, or at the end of a test session: open connections
    would hold a stopping Triton server until its exit timeout."""
    with _SHARED_LOCK:
        clients = list(_SHARED.values())
        _SHARED.clear()
    for client in clients:
        client.close()


# -- pure helpers (no I/O) ------------------------------------------------------


def check_outputs(spec: ModelSpec, outputs: Sequence[str]) -> None:
    for name in outputs:
        if spec.output(name) is None:
            raise OutputError(
                f"model {spec.name!r} has no output {name!r} (its outputs: "
                f"{', '.join(spec.output_names)})",
                model=spec.name,
                output=name,
            )


def _is_item(tensor: TensorSpec, value: Any) -> bool | None:
    """True: one item; False: a list of items; None: fits neither."""
    d, rank, squeezed = codec.depth(value), len(tensor.dims), tensor.squeezed_rank
    if d == squeezed:
        return True
    if d == squeezed + 1:
        return False
    if d == rank:
        return True
    if d == rank + 1:
        return False
    return None


def plan_items(spec: ModelSpec, inputs: Mapping[str, Any]) -> _Plan:
    """Check input names and decide between one item and a list of items."""
    for name in inputs:
        if spec.input(name) is None:
            raise InputError(
                f"model {spec.name!r} has no input {name!r} (its inputs: "
                f"{', '.join(spec.input_names)})",
                model=spec.name,
                input=name,
            )
    for name in spec.required_inputs:
        if name not in inputs:
            raise InputError(
                f"input {name!r} is required by model {spec.name!r} but was not given",
                model=spec.name,
                input=name,
            )
    if not spec.batches:
        return _Plan(False, 1, {name: [value] for name, value in inputs.items()})
    kinds = {name: _kind(spec, name, value) for name, value in inputs.items()}
    sizes = {name: len(value) for name, value in inputs.items() if kinds[name] is False}
    if len(set(sizes.values())) > 1:
        listed = ", ".join(f"{n!r} has {s}" for n, s in sizes.items())
        raise InputError(
            f"list inputs must have the same number of items: {listed}",
            model=spec.name,
            input=next(iter(sizes)),
        )
    if not sizes:
        return _Plan(False, 1, {n: [codec.unsqueeze(spec.input(n), v)] for n, v in inputs.items()})  # type: ignore[arg-type]
    size = next(iter(sizes.values()))
    columns = {}
    for name, value in inputs.items():
        tensor = spec.input(name)
        if kinds[name]:
            columns[name] = [codec.unsqueeze(tensor, value)] * size  # type: ignore[arg-type]
        else:
            columns[name] = [codec.unsqueeze(tensor, item) for item in value]  # type: ignore[arg-type]
    return _Plan(True, size, columns)


def _kind(spec: ModelSpec, name: str, value: Any) -> bool:
    tensor = spec.input(name)
    assert tensor is not None
    kind = _is_item(tensor, value)
    if kind is None:
        raise InputError(
            f"input {name!r} has {codec.depth(value)} levels of lists but the model expects "
            f"{codec._dims_text(tensor.dims)} per item (or a list of such items)",
            model=spec.name,
            input=name,
        )
    return kind


def _chunks(size: int, max_batch: int) -> list[range]:
    step = max(1, max_batch)
    return [range(start, min(start + step, size)) for start in range(0, size, step)]


def output_arrays(spec: ModelSpec, result: Any, rows: int | None) -> dict[str, np.ndarray]:
    """The model's declared outputs in a Triton answer, checked against the request: data
    that fits the shape the answer states and, for `rows` rows sent to a batching model,
    one row back per row sent. A server's answer is data from outside: one that fails
    either is the model's error, named, never a crash here nor another caller's row."""
    arrays: dict[str, np.ndarray] = {}
    for output in spec.outputs:
        try:
            array = result.as_numpy(output.name)
        except Exception as exc:  # noqa: BLE001 - whatever the parser meets is the answer's fault
            raise ModelError(
                f"model {spec.name!r} answered output {output.name!r} with data that does "
                f"not fit its stated shape ({exc})", model=spec.name, output=output.name) from exc
        if array is None:
            continue
        if rows is not None and (array.ndim == 0 or array.shape[0] != rows):
            answered = 0 if array.ndim == 0 else array.shape[0]
            raise ModelError(
                f"model {spec.name!r} answered {answered} row{'s' if answered != 1 else ''} "
                f"of output {output.name!r} for {rows} sent", model=spec.name, output=output.name)
        arrays[output.name] = array
    return arrays


def _served_version(result: Any, grpc: bool) -> str:
    response = result.get_response()
    return str(response.model_version if grpc else response.get("model_version", ""))


def _predictions(spec: ModelSpec, arrays: Mapping[str, np.ndarray], rows: int) -> list[Prediction]:
    columns = {
        name: codec.decode(spec.output(name), array, batched=spec.batches)  # type: ignore[arg-type]
        for name, array in arrays.items()
    }
    if not spec.batches:
        return [summarise(spec, {name: value for name, value in columns.items()})]
    return [
        summarise(spec, {name: values[row] for name, values in columns.items()})
        for row in range(rows)
    ]


def _only(prediction: Prediction, outputs: Sequence[str]) -> Prediction:
    kept = {name: prediction.outputs[name] for name in outputs if name in prediction.outputs}
    return Prediction(kept, prediction.label, prediction.confidence, prediction.scores,
                      prediction.explanation)


def _probabilities(spec: ModelSpec, outputs: Mapping[str, Any]) -> list[float] | None:
    for tensor in spec.outputs:
        value = outputs.get(tensor.name)
        if (
            tensor.datatype in codec.FLOAT_TYPES
            and tensor.squeezed_rank == 1
            and isinstance(value, list)
            and len(value) >= 2
            and all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in value)
            and abs(sum(value) - 1.0) < 1e-3
        ):
            return value
    return None


def summarise(spec: ModelSpec, outputs: dict[str, Any]) -> Prediction:
    """Add label, confidence and named scores when an output is a probability vector;
    label names come from the model's `labels` parameter or its label output."""
    probabilities = _probabilities(spec, outputs)
    label_output = spec.label_output
    given_label = outputs.get(label_output) if label_output else None
    explanation = explanation_of(outputs)
    if probabilities is None:
        return Prediction(outputs, label=given_label if isinstance(given_label, str) else None,
                          explanation=explanation)
    best = max(range(len(probabilities)), key=probabilities.__getitem__)
    labels = spec.labels if len(spec.labels) == len(probabilities) else ()
    if labels:
        label = labels[best]
    elif isinstance(given_label, str):
        label = given_label
    else:
        label = str(best)
    scores = dict(zip(labels, probabilities, strict=True)) if labels else None
    return Prediction(outputs, label=label, confidence=probabilities[best], scores=scores,
                      explanation=explanation)


EXPLANATION_OUTPUT = "explanation"
EXPLANATION_NAMES_OUTPUT = "explanation_features"


def explanation_of(outputs: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """A model's `explanation` output (one number per feature; names from its
    `explanation_features` output) as [{feature, contribution}], in feature order."""
    values = outputs.get(EXPLANATION_OUTPUT)
    if not isinstance(values, list) or not values or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return None
    names = outputs.get(EXPLANATION_NAMES_OUTPUT)
    if not (isinstance(names, list) and len(names) == len(values)
            and all(isinstance(n, str) for n in names)):
        names = [f"feature {i}" for i in range(len(values))]
    return [{"feature": name, "contribution": round(float(value), 6)}
            for name, value in zip(names, values, strict=True)]
