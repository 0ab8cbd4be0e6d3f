"""A Triton answer is data from outside: a model that answers the wrong number of rows
gets an error that names the model and the output, through the synchronous client and
through the io executor's cross-run batcher, never another run's row or a bare crash.

Served by Triton's own server binary (tests/inference/triton_binary.py) from a
Python-backend repository written here: `short_rows` answers one row whatever the batch,
as a buggy custom model can; the real server passes such an answer on unchanged.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from apps.inference.batching import TritonBatcher
from apps.inference.client import TritonClient, close_shared_clients
from apps.inference.errors import ModelError
from tests.inference.triton_binary import TritonBinary

MODEL = "short_rows"
CONFIG = f"""name: "{MODEL}"
backend: "python"
max_batch_size: 8
input [ {{ name: "x" data_type: TYPE_FP32 dims: [ 2 ] }} ]
output [ {{ name: "y" data_type: TYPE_FP32 dims: [ 2 ] }} ]
"""
MODEL_PY = """
import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            x = pb_utils.get_input_tensor_by_name(request, "x").as_numpy()
            responses.append(pb_utils.InferenceResponse(
                output_tensors=[pb_utils.Tensor("y", (x[:1] * 2).astype(np.float32))]))
        return responses
"""


@pytest.fixture(scope="module")
def tritonserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonBinary]:
    repository: Path = tmp_path_factory.mktemp("repository")
    (repository / MODEL / "1").mkdir(parents=True)
    (repository / MODEL / "config.pbtxt").write_text(CONFIG)
    (repository / MODEL / "1" / "model.py").write_text(MODEL_PY)
    server = TritonBinary.start(repository=repository, models=(MODEL,))
    yield server
    close_shared_clients()
    server.stop()


def test_a_model_answering_too_few_rows_fails_the_call_naming_it(
    tritonserver: TritonBinary, protocol: str,
) -> None:
    with TritonClient(tritonserver.connection(protocol)) as client:
        one = client.infer(MODEL, {"x": [1.0, 2.0]})  # one row asked, one answered: fine
        assert one.predictions[0].outputs["y"] == [2.0, 4.0]
        with pytest.raises(ModelError) as caught:
            client.infer(MODEL, {"x": [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]})
    error = caught.value
    assert error.details["model"] == MODEL
    assert error.details["output"] == "y"
    assert "answered 1 row of output 'y' for 3 sent" in str(error)


def test_runs_grouped_into_one_request_each_get_the_error_not_anothers_row(
    tritonserver: TritonBinary, protocol: str,
) -> None:
    connection = tritonserver.connection(protocol)
    with TritonClient(connection) as client:
        spec = client.model_spec(MODEL)

    async def three_runs() -> list[object]:
        batcher = TritonBatcher(connection)
        try:
            # The model is busy with the first call while the next two are made: those
            # two go together, in one request of two rows, of which one comes back.
            return await asyncio.gather(*[
                batcher.infer(spec, "", {"x": np.array([[i, i]], dtype=np.float32)},
                              rows=1, linger_s=0.05)
                for i in range(3)], return_exceptions=True)
        finally:
            await batcher.close()

    # A thread of its own: after the browser tests this thread may run a loop already.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        answers = pool.submit(asyncio.run, three_runs()).result()
    first, *grouped = answers
    assert not isinstance(first, BaseException)
    assert first[1]["y"].tolist() == [[0.0, 0.0]]
    assert [type(answer) for answer in grouped] == [ModelError, ModelError]
    assert all(answer.details["output"] == "y" for answer in grouped)
