"""JSON <-> tensor encoding, without a server."""

from __future__ import annotations

import numpy as np
import pytest

from apps.inference import codec
from apps.inference.client import plan_items, summarise
from apps.inference.errors import InputError
from apps.inference.spec import ModelSpec, TensorSpec, model_spec_from, parse_labels


def _spec(
    *inputs: TensorSpec,
    outputs: tuple[TensorSpec, ...] = (),
    max_batch_size: int = 8,
    labels: tuple[str, ...] = (),
) -> ModelSpec:
    return ModelSpec("m", ("1",), "python", inputs, outputs, max_batch_size, labels)


def test_encode_names_the_input_and_the_bad_value() -> None:
    spec = TensorSpec("features", "FP32", (3,))
    with pytest.raises(
        InputError, match=r"input 'features' item 1 has a value \"abc\" that is not a number; FP32"
    ) as err:
        codec.encode(spec, [[1, 2, 3], [1, "abc", 3]], model="m")
    assert err.value.input == "features"


@pytest.mark.parametrize(
    ("datatype", "value", "message"),
    [
        ("INT8", 300, "out of range for INT8"),
        ("UINT8", -1, "out of range for UINT8"),
        ("INT32", 1.5, "not an integer"),
        ("INT32", True, "is a boolean"),
        ("BOOL", 1, "not a boolean"),
        ("FP16", 1e6, "out of range for FP16"),
        ("FP64", "1.0", "not a number"),
    ],
)
def test_encode_rejects_values_that_do_not_fit(datatype: str, value: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        codec.encode(TensorSpec("x", datatype, (1,)), [[value]], model="m")


def test_encode_rejects_ragged_and_wrong_shapes() -> None:
    spec = TensorSpec("x", "INT32", (-1, 2))
    with pytest.raises(InputError, match="ragged"):
        codec.encode(spec, [[[1, 2], [3]]], model="m")
    with pytest.raises(InputError, match=r"has shape \[1, 3\] but the model expects \[any, 2\]"):
        codec.encode(spec, [[[1, 2, 3]]], model="m")
    with pytest.raises(InputError, match="unlike the items before it"):
        codec.encode(spec, [[[1, 2]], [[1, 2], [3, 4]]], model="m")


def test_non_finite_floats_travel_as_strings_both_ways() -> None:
    spec = TensorSpec("x", "FP64", (-1,))
    array = codec.encode(spec, [["NaN", "Infinity", "-Infinity", 1.25]], model="m")
    assert np.isnan(array[0, 0])
    assert array[0, 1] == np.inf
    assert codec.decode(spec, array) == [["NaN", "Infinity", "-Infinity", 1.25]]


def test_fp32_comes_back_as_its_shortest_decimal() -> None:
    spec = TensorSpec("x", "FP32", (2,))
    assert codec.decode(spec, np.array([[0.7, 0.1]], dtype=np.float32)) == [[0.7, 0.1]]


def test_bytes_encode_strings_and_json_values() -> None:
    array = codec.encode(TensorSpec("x", "BYTES", (-1,)), [["é", b"\x00", {"a": 1}, 2]], model="m")
    assert array.tolist() == [["é".encode(), b"\x00", b'{"a": 1}', b"2"]]


def test_one_sized_dimensions_may_be_left_out() -> None:
    text = TensorSpec("text", "BYTES", (1,))
    assert codec.unsqueeze(text, "hello") == ["hello"]
    assert codec.unsqueeze(text, ["hello"]) == ["hello"]
    assert codec.decode(text, np.array([[b"a"], [b"b"]], dtype=object)) == ["a", "b"]


def test_plan_tells_one_item_from_a_list_and_repeats_single_values() -> None:
    spec = _spec(TensorSpec("text", "BYTES", (1,)), TensorSpec("bias", "FP32", (2,)))
    single = plan_items(spec, {"text": "a", "bias": [0.0, 1.0]})
    assert (single.batched, single.size) == (False, 1)
    batch = plan_items(spec, {"text": ["a", "b", "c"], "bias": [0.0, 1.0]})
    assert (batch.batched, batch.size) == (True, 3)
    assert batch.columns["bias"] == [[0.0, 1.0]] * 3
    assert batch.columns["text"] == [["a"], ["b"], ["c"]]


def test_plan_rejects_unknown_missing_and_mismatched_inputs() -> None:
    spec = _spec(TensorSpec("a", "INT32", (1,)), TensorSpec("b", "INT32", (1,), optional=True))
    with pytest.raises(InputError, match=r"model 'm' has no input 'zz' \(its inputs: a, b\)"):
        plan_items(spec, {"a": 1, "zz": 2})
    with pytest.raises(InputError, match="input 'a' is required"):
        plan_items(spec, {"b": 1})
    with pytest.raises(InputError, match="same number of items: 'a' has 2, 'b' has 3"):
        plan_items(spec, {"a": [1, 2], "b": [1, 2, 3]})
    with pytest.raises(InputError, match="input 'a' has 3 levels of lists"):
        plan_items(spec, {"a": [[[1]]]})


def test_summarise_names_the_label_from_model_parameters() -> None:
    spec = _spec(outputs=(TensorSpec("probs", "FP32", (3,)),), labels=("red", "green", "blue"))
    prediction = summarise(spec, {"probs": [0.1, 0.7, 0.2]})
    assert (prediction.label, prediction.confidence) == ("green", 0.7)
    assert prediction.scores == {"red": 0.1, "green": 0.7, "blue": 0.2}


def test_summarise_leaves_non_probability_outputs_alone() -> None:
    spec = _spec(outputs=(TensorSpec("embedding", "FP32", (3,)),))
    assert summarise(spec, {"embedding": [0.5, 2.0, -1.0]}).label is None


def test_grpc_and_http_documents_give_the_same_spec() -> None:
    http_meta = {
        "name": "m",
        "versions": ["1"],
        "platform": "python",
        "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 4]}],
        "outputs": [],
    }
    grpc_meta = {**http_meta, "inputs": [{"name": "x", "datatype": "FP32", "shape": ["-1", "4"]}]}
    http_config = {
        "name": "m",
        "max_batch_size": 8,
        "input": [{"name": "x", "optional": True}],
        "parameters": {"labels": {"string_value": "a, b"}},
    }
    assert model_spec_from(http_meta, http_config) == model_spec_from(
        grpc_meta, {"config": http_config}
    )
    spec = model_spec_from(http_meta, http_config)
    assert spec.inputs[0].dims == (4,)
    assert spec.inputs[0].optional
    assert spec.labels == ("a", "b")
    assert parse_labels('["x", "y"]') == ("x", "y")
