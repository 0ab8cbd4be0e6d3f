"""Model calls awaited on the I/O executor's event loop (tritonclient's asyncio
clients), with the rows of concurrent runs grouped into one request.

A node's `prepare` (apps.inference.nodes) evaluates its inputs, reads the model's spec
and encodes its rows on the delivering thread; its `InferenceCall.perform` hands the
rows to the loop's `TritonBatcher` for that server. A call to a model (and version,
with the same tensor shapes per row) that has no request of this loop in flight is
sent at once: a lone call waits for no linger. Calls made while one is in flight are
held until it is answered, for at most a short linger (WEFT_INFERENCE_LINGER_MS, 2 ms
by default), or until the model's max batch size is reached, and sent as one request;
the answer's rows are given back to each call in order: 1,000 single-row runs at once
cost about 1,000 / max batch size requests. A call with more rows than the max batch
size, a model that does not batch, or a linger of 0 sends its own requests (chunked as
the blocking client does). A failed request fails every call in it, each with the same
error (the engine's retry policy then applies to each node)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from apps.inference.client import (
    Connection,
    InferenceResult,
    _chunks,
    _only,
    _predictions,
    _served_version,
    output_arrays,
)
from apps.inference.errors import from_exception
from apps.inference.spec import ModelSpec
from apps.nodes.base import NetworkCall, Outputs

Answer = tuple[str, dict[str, np.ndarray], int]  # served version, output rows, requests


@dataclass
class InferenceCall(NetworkCall):
    """One node's model call, ready to send (inputs evaluated and encoded)."""

    connection: Connection
    spec: ModelSpec
    version: str
    tensors: dict[str, np.ndarray]
    rows: int
    batched: bool  # the input was a list of items: one prediction per item
    outputs: tuple[str, ...] = ()
    linger_s: float = 0.002
    # The node's records (model oversight, audit) and shadow call: given the result, or
    # the error and the start time. Called on the loop: each only buffers or enqueues.
    answered: Callable[[InferenceResult], None] | None = None
    failed: Callable[[Exception, float], None] | None = None
    host: str = ""  # Triton is not an outside API: no per-host cap

    async def perform(self, io: Any) -> Outputs:
        started = time.perf_counter()
        batcher = io.shared(("triton-batcher", self.connection),
                            lambda: TritonBatcher(self.connection))
        try:
            served, arrays, requests = await batcher.infer(
                self.spec, self.version, self.tensors, rows=self.rows, linger_s=self.linger_s)
        except Exception as exc:
            if self.failed is not None:
                self.failed(exc, started)
            raise
        predictions = _predictions(self.spec, arrays, self.rows)
        if self.outputs:
            predictions = [_only(p, self.outputs) for p in predictions]
        served = served or self.version or (self.spec.versions[-1] if self.spec.versions else "")
        result = InferenceResult(self.spec.name, served, predictions, self.batched,
                                 (time.perf_counter() - started) * 1000, requests)
        if self.answered is not None:
            self.answered(result)
        return Outputs({"out": result.as_output()})


@dataclass(eq=False)
class _Batch:
    spec: ModelSpec
    version: str
    items: list[tuple[dict[str, np.ndarray], int, asyncio.Future]] = field(default_factory=list)
    rows: int = 0
    timer: asyncio.TimerHandle | None = None  # set when it waits for one in flight


class TritonBatcher:
    """One per Triton server and event loop (kept in the loop's IOClients)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.requests = 0  # sent by this batcher (for benchmarks and tests)
        self._client: Any = None
        self._open: dict[tuple, _Batch] = {}
        self._sending: set[asyncio.Task] = set()
        self._in_flight: dict[tuple, int] = {}  # requests being answered, per batch key

    @property
    def _grpc(self) -> bool:
        return self.connection.protocol == "grpc"

    def _raw(self) -> Any:
        if self._client is None:
            connection = self.connection
            if self._grpc:
                import tritonclient.grpc.aio as grpc_aio

                self._client = grpc_aio.InferenceServerClient(
                    connection.address, ssl=connection.ssl,
                    root_certificates=(connection.ca_path or None) if connection.ssl else None)
            else:
                import tritonclient.http.aio as http_aio

                context = None
                if connection.ssl:
                    import ssl

                    context = ssl.create_default_context(cafile=connection.ca_path or None)
                    if not connection.verify:
                        context.check_hostname = False
                        context.verify_mode = ssl.CERT_NONE
                self._client = http_aio.InferenceServerClient(
                    connection.address, ssl=connection.ssl, ssl_context=context,
                    conn_limit=256)
        return self._client

    async def infer(self, spec: ModelSpec, version: str, tensors: dict[str, np.ndarray], *,
                    rows: int, linger_s: float) -> Answer:
        """The output rows of these input rows, sent with others' when they fit."""
        if linger_s <= 0 or not spec.batches or rows >= spec.max_batch_size:
            return await self._alone(spec, version, tensors, rows)
        key = (spec.name, version, tuple(sorted((name, tensor.dtype.str, tensor.shape[1:])
                                                for name, tensor in tensors.items())))
        batch = self._open.get(key)
        if batch is not None and batch.rows + rows > spec.max_batch_size:
            self._flush(key, batch)
            batch = None
        loop = asyncio.get_running_loop()
        if batch is None:
            batch = self._open[key] = _Batch(spec=spec, version=version)
            if self._in_flight.get(key):  # others may join while that one is answered
                batch.timer = loop.call_later(linger_s, self._flush, key, batch)
        future = loop.create_future()
        batch.items.append((tensors, rows, future))
        batch.rows += rows
        if batch.timer is None or batch.rows >= spec.max_batch_size:
            self._flush(key, batch)  # the model is idle here (or the batch is full)
        return await future

    def _flush(self, key: tuple, batch: _Batch) -> None:
        if self._open.get(key) is batch:
            del self._open[key]
        if batch.timer is not None:
            batch.timer.cancel()
        self._in_flight[key] = self._in_flight.get(key, 0) + 1
        task = asyncio.ensure_future(self._send(batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)
        task.add_done_callback(lambda _task: self._landed(key))

    def _landed(self, key: tuple) -> None:
        left = self._in_flight.get(key, 1) - 1
        if left > 0:
            self._in_flight[key] = left
        else:
            self._in_flight.pop(key, None)
        batch = self._open.get(key)
        if batch is not None:  # the calls made while it was answered go now
            self._flush(key, batch)

    async def _send(self, batch: _Batch) -> None:
        items = [item for item in batch.items if not item[2].done()]  # (abandoned calls)
        if not items:
            return
        try:
            names = list(items[0][0])
            tensors = {name: np.concatenate([item[0][name] for item in items]) for name in names}
            served, arrays = await self._request(batch.spec, batch.version, tensors)
        except Exception as exc:  # noqa: BLE001 - every call of the request fails with it
            error = from_exception(exc, model=batch.spec.name, url=self.connection.url)
            for _tensors, _rows, future in items:
                if not future.done():
                    future.set_exception(error)
            return
        offset = 0
        for _tensors, rows, future in items:
            if not future.done():
                future.set_result((served, {name: array[offset:offset + rows]
                                            for name, array in arrays.items()}, 1))
            offset += rows

    async def _alone(self, spec: ModelSpec, version: str, tensors: dict[str, np.ndarray],
                     rows: int) -> Answer:
        if not spec.batches:
            try:
                served, arrays = await self._request(spec, version, tensors)
            except Exception as exc:  # noqa: BLE001
                raise from_exception(exc, model=spec.name, url=self.connection.url) from exc
            return served, arrays, 1
        chunks = _chunks(rows, spec.max_batch_size)
        try:
            parts = await asyncio.gather(*[
                self._request(spec, version, {name: tensor[chunk.start:chunk.stop]
                                              for name, tensor in tensors.items()})
                for chunk in chunks])
        except Exception as exc:  # noqa: BLE001
            raise from_exception(exc, model=spec.name, url=self.connection.url) from exc
        arrays = {name: np.concatenate([part[1][name] for part in parts])
                  for name in parts[0][1]}
        return parts[0][0], arrays, len(chunks)

    async def _request(self, spec: ModelSpec, version: str, tensors: dict[str, np.ndarray]
                       ) -> tuple[str, dict[str, np.ndarray]]:
        if self._grpc:
            import tritonclient.grpc as module
        else:
            import tritonclient.http as module
        inputs = []
        for name, tensor in tensors.items():
            infer_input = module.InferInput(name, list(tensor.shape), spec.input(name).datatype)  # type: ignore[union-attr]
            infer_input.set_data_from_numpy(tensor)
            inputs.append(infer_input)
        self.requests += 1
        result = await self._raw().infer(spec.name, inputs, model_version=version,
                                         headers=self.connection.header_dict or None)
        rows = next(iter(tensors.values())).shape[0] if spec.batches and tensors else None
        return _served_version(result, self._grpc), output_arrays(spec, result, rows)

    async def close(self) -> None:
        for batch in list(self._open.values()):
            if batch.timer is not None:
                batch.timer.cancel()
        self._open.clear()
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()
