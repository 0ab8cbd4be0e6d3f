"""The client against a real Triton server, over HTTP and gRPC (see conftest.py)."""

from __future__ import annotations

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from apps.inference.client import TritonClient
from apps.inference.constants import DEMO_MODEL_NAMES
from apps.inference.errors import InputError, ModelNotFound, OutputError, from_exception
from models import datasets

# One sample per Triton datatype the demo echo model declares (all but BF16,
# which numpy cannot hold), with the edges of each range.
SAMPLES: dict[str, list[object]] = {
    "BOOL": [True, False, True],
    "INT8": [-128, 0, 127],
    "INT16": [-32768, 1, 32767],
    "INT32": [-(2**31), 2, 2**31 - 1],
    "INT64": [-(2**63), 3, 2**63 - 1],
    "UINT8": [0, 1, 255],
    "UINT16": [0, 65535],
    "UINT32": [0, 2**32 - 1],
    "UINT64": [0, 2**64 - 1],
    "FP16": [0.5, -2.0, 0.1, 1024.0, "Infinity"],  # shortest decimals: 65504 would read 65500
    "FP32": [1.5, -0.1, 3.4028235e38, "NaN", "-Infinity"],
    "FP64": [0.1, -1e300, 5e-324, "Infinity"],
    "BYTES": ["héllo wörld", "", "emoji 🎉", "tab\tand\nnewline", "nul\x00inside"],
}


def test_models_are_listed_with_versions_and_readiness(client: TritonClient) -> None:
    models = {m.name: m for m in client.list_models()}
    assert set(models) == set(DEMO_MODEL_NAMES)
    assert all(m.ready and m.versions == ("1",) for m in models.values())


def test_model_spec_describes_tensors_and_batch_size(client: TritonClient) -> None:
    spec = client.model_spec("ticket_urgency")
    assert spec.max_batch_size == 64
    assert [(t.name, t.datatype, t.dims) for t in spec.inputs] == [("text", "BYTES", (1,))]
    assert [(t.name, t.datatype, t.dims) for t in spec.outputs] == [
        ("probabilities", "FP32", (4,)),
        ("label", "BYTES", (1,)),
    ]
    echo = client.model_spec("echo")
    assert {t.datatype for t in echo.inputs} == set(SAMPLES)
    assert all(t.optional for t in echo.inputs)


@pytest.mark.parametrize("datatype", list(SAMPLES))
def test_every_datatype_round_trips(client: TritonClient, datatype: str) -> None:
    name = datatype.lower()
    result = client.infer("echo", {name: SAMPLES[datatype]})
    assert not result.batched
    assert result.predictions[0].outputs == {f"{name}_echo": SAMPLES[datatype]}


def test_all_datatypes_round_trip_together_in_a_batch(client: TritonClient) -> None:
    inputs = {dt.lower(): [values, values[::-1]] for dt, values in SAMPLES.items()}
    result = client.infer("echo", inputs)
    assert result.batched
    assert len(result.predictions) == 2
    for dt, values in SAMPLES.items():
        assert result.predictions[0].outputs[f"{dt.lower()}_echo"] == values
        assert result.predictions[1].outputs[f"{dt.lower()}_echo"] == values[::-1]


def test_batched_list_gives_the_same_results_as_one_by_one(client: TritonClient) -> None:
    texts = datasets.tickets(150, seed=99).texts
    batched = client.infer("ticket_urgency", {"text": texts})
    assert batched.requests == 3  # 64 + 64 + 22, sent in parallel
    singles = [client.infer("ticket_urgency", {"text": t}).predictions[0] for t in texts]
    assert [p.label for p in batched.predictions] == [p.label for p in singles]
    for together, alone in zip(batched.predictions, singles, strict=True):
        assert together.outputs["probabilities"] == pytest.approx(
            alone.outputs["probabilities"], abs=1e-6
        )


def test_single_values_are_repeated_for_each_item_of_a_list(client: TritonClient) -> None:
    result = client.infer("echo", {"int32": [[1], [2], [3]], "bytes": ["same"]})
    assert [p.outputs for p in result.predictions] == [
        {"int32_echo": [n], "bytes_echo": ["same"]} for n in (1, 2, 3)
    ]


def test_ticket_classifier_gives_sensible_labels(client: TritonClient) -> None:
    examples = {
        "Production is completely down, all users get error 500 and we are losing orders": "critical",
        "Urgent: checkout fails for Acme Corp, they are blocked and cannot work": "high",
        "How do I change the billing address on my invoice?": "normal",
        "Feature request: a dark mode would be nice, no rush": "low",
    }
    result = client.infer("ticket_urgency", {"text": list(examples)})
    assert [p.label for p in result.predictions] == list(examples.values())
    assert all(p.confidence is not None and p.confidence > 0.5 for p in result.predictions)


def test_invoice_model_scores_obvious_cases(client: TritonClient) -> None:
    risky = [
        5.5,
        2,
        0.2,
        3,
        1,
        1,
        1,
        0,
    ]  # large, due now, new vendor, disputes, bank changed, no PO
    safe = [2.5, 60, 12, 0, 0, 0, 0, 1]
    result = client.infer("invoice_risk", {"features": [risky, safe]})
    assert [p.label for p in result.predictions] == ["risky", "ok"]
    assert result.as_output()["min_confidence"] > 0.9


def test_outputs_can_be_filtered(client: TritonClient) -> None:
    result = client.infer("ticket_urgency", {"text": "thanks!"}, outputs=["label"])
    assert set(result.predictions[0].outputs) == {"label"}
    assert result.predictions[0].confidence is not None  # still derived from the probabilities


def test_wrong_input_name_is_named(client: TritonClient) -> None:
    with pytest.raises(InputError, match="no input 'textx'") as err:
        client.infer("ticket_urgency", {"textx": "hello"})
    assert err.value.input == "textx"
    assert not err.value.retryable


def test_wrong_shape_is_named(client: TritonClient) -> None:
    with pytest.raises(
        InputError, match=r"input 'features' has shape \[3\] but the model expects \[8\]"
    ) as err:
        client.infer("invoice_risk", {"features": [1.0, 2.0, 3.0]})
    assert err.value.input == "features"


def test_non_numeric_value_for_fp32_is_named(client: TritonClient) -> None:
    with pytest.raises(
        InputError, match="input 'features' item 1 has a value \"lots\" that is not a number; FP32"
    ):
        client.infer(
            "invoice_risk", {"features": [[3, 10, 1, 0, 0, 0, 0, 1], [3, "lots", 1, 0, 0, 0, 0, 1]]}
        )


def test_unknown_output_and_model_are_permanent_errors(client: TritonClient) -> None:
    with pytest.raises(OutputError, match="no output 'score'"):
        client.infer("ticket_urgency", {"text": "hi"}, outputs=["score"])
    with pytest.raises(ModelNotFound, match="'nope'") as err:
        client.infer("nope", {"x": 1})
    assert not err.value.retryable


def test_server_side_rejections_map_to_named_errors(triton, protocol: str) -> None:  # type: ignore[no-untyped-def]
    """What Triton itself answers to a bad request (bypassing our own checks)."""
    module = grpcclient if protocol == "grpc" else httpclient
    raw = module.InferenceServerClient(triton.connection(protocol).address)
    bad = module.InferInput("features", [1, 3], "FP32")
    bad.set_data_from_numpy(np.zeros((1, 3), dtype=np.float32))
    with pytest.raises(InferenceServerException) as raised:
        raw.infer("invoice_risk", [bad])
    error = from_exception(raised.value, model="invoice_risk", url="test")
    assert isinstance(error, InputError)
    assert error.input == "features"
    assert not error.retryable
    raw.close()
