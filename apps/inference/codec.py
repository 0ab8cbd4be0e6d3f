"""JSON values <-> numpy tensors for every Triton datatype tritonclient handles.

Encoding is strict and says what is wrong: a string where FP32 is expected, an
integer out of range for INT8, a ragged list, a wrong number of values. JSON
has no NaN or infinity, so floats that are not finite travel as the strings
"NaN", "Infinity" and "-Infinity", both ways. BF16 travels as float32 (numpy has
no bfloat16; tritonclient converts on the wire).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from apps.inference.errors import InputError
from apps.inference.spec import TensorSpec

NUMPY_DTYPES: dict[str, type] = {
    "BOOL": np.bool_,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "UINT32": np.uint32,
    "UINT64": np.uint64,
    "FP16": np.float16,
    "FP32": np.float32,
    "FP64": np.float64,
    "BF16": np.float32,
    "BYTES": np.object_,
}
FLOAT_TYPES = {"FP16", "FP32", "FP64", "BF16"}
SHORT_FLOATS = {"FP16", "FP32", "BF16"}
INT_TYPES = {name for name in NUMPY_DTYPES if name.startswith(("INT", "UINT"))}
NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class _BadValue(ValueError):
    pass


def _describe(value: Any) -> str:
    text = json.dumps(value, default=repr) if not isinstance(value, bytes) else repr(value)
    return (text[:40] + "...") if len(text) > 43 else text


def _to_bool(value: Any, datatype: str) -> bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise _BadValue("is not a boolean; BOOL expects true or false")


def _to_int(value: Any, datatype: str) -> int:
    if isinstance(value, bool):
        raise _BadValue(f"is a boolean; {datatype} expects integers")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int | np.integer):
        raise _BadValue(f"is not an integer; {datatype} expects integers")
    info = np.iinfo(NUMPY_DTYPES[datatype])
    if not info.min <= int(value) <= info.max:
        raise _BadValue(f"is out of range for {datatype} ({info.min}..{info.max})")
    return int(value)


def _narrow(number: float, datatype: str) -> float:
    """The number as the model's float type holds it (inf when it overflows)."""
    with np.errstate(over="ignore"):
        return float(NUMPY_DTYPES[datatype](number))


def _to_float(value: Any, datatype: str) -> float:
    if isinstance(value, str) and value in NON_FINITE:
        return NON_FINITE[value]
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise _BadValue(f"is not a number; {datatype} expects numbers")
    number = float(value)
    if math.isfinite(number) and math.isinf(_narrow(number, datatype)):
        raise _BadValue(f"is out of range for {datatype}")
    return number


def _to_bytes(value: Any, datatype: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value).encode("utf-8")  # numbers, booleans and objects travel as JSON text


def _converter(datatype: str) -> Callable[[Any, str], Any]:
    if datatype == "BOOL":
        return _to_bool
    if datatype in INT_TYPES:
        return _to_int
    if datatype in FLOAT_TYPES:
        return _to_float
    return _to_bytes


def depth(value: Any) -> int:
    """Nesting depth of lists, following first elements: 0 for a scalar, 1 for []."""
    d = 0
    while isinstance(value, list | tuple):
        d += 1
        if not value:
            break
        value = value[0]
    return d


def _shape_and_leaves(value: Any, rank: int, leaves: list[Any]) -> tuple[int, ...]:
    if rank == 0:
        if isinstance(value, list | tuple):
            raise _BadValue("has more levels of lists than expected")
        leaves.append(value)
        return ()
    if not isinstance(value, list | tuple):
        raise _BadValue("has fewer levels of lists than expected")
    shapes = {_shape_and_leaves(child, rank - 1, leaves) for child in value}
    if len(shapes) > 1:
        raise _BadValue("is ragged: its lists have different lengths")
    inner = shapes.pop() if shapes else (0,) * (rank - 1)
    return (len(value), *inner)


def _dims_text(dims: Sequence[int]) -> str:
    return "[" + ", ".join("any" if d < 0 else str(d) for d in dims) + "]"


def _check_dims(spec: TensorSpec, shape: tuple[int, ...]) -> None:
    if len(shape) != len(spec.dims) or any(
        d >= 0 and d != s for d, s in zip(spec.dims, shape, strict=True)
    ):
        raise _BadValue(
            f"has shape {list(shape)} but the model expects {_dims_text(spec.dims)} per item"
        )


def unsqueeze(spec: TensorSpec, item: Any) -> Any:
    """Give an item its full rank back: wrap it once for each trailing 1-sized
    dimension it was written without (`"text"` for a [1] input -> `["text"]`)."""
    d = depth(item)
    if spec.squeezed_rank <= d < len(spec.dims):
        for _ in range(len(spec.dims) - d):
            item = [item]
    return item


def _encode_item(spec: TensorSpec, item: Any, leaves: list[Any]) -> tuple[int, ...]:
    raw: list[Any] = []
    shape = _shape_and_leaves(item, len(spec.dims), raw)
    _check_dims(spec, shape)
    convert = _converter(spec.datatype)
    for leaf in raw:
        try:
            leaves.append(convert(leaf, spec.datatype))
        except _BadValue as exc:
            raise _BadValue(f"has a value {_describe(leaf)} that {exc}") from None
    return shape


def encode(
    spec: TensorSpec,
    items: Sequence[Any],
    *,
    model: str,
    first_index: int | None = 0,
    batched: bool = True,
) -> np.ndarray:
    """Items (already at full rank, see `unsqueeze`) -> one tensor with a leading
    batch dimension; with batched=False, the single item is the whole tensor.
    Errors name the item by its index from `first_index` (None: do not name it)."""
    leaves: list[Any] = []
    shape: tuple[int, ...] = ()
    for offset, item in enumerate(items):
        try:
            item_shape = _encode_item(spec, item, leaves)
            if offset and item_shape != shape:
                raise _BadValue(
                    f"has shape {list(item_shape)}, unlike the items before it "
                    f"{list(shape)}; items sent together must have the same shape"
                )
            shape = item_shape
        except _BadValue as exc:
            where = f"input {spec.name!r}"
            if first_index is not None:
                where += f" item {first_index + offset}"
            raise InputError(f"{where} {exc}", model=model, input=spec.name) from None
    full_shape = (len(items), *shape) if batched else shape
    return np.array(leaves, dtype=NUMPY_DTYPES[spec.datatype]).reshape(full_shape)


def _json_float(value: float) -> float | str:
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def _decode_leaves(value: Any, datatype: str) -> Any:
    if isinstance(value, list):
        return [_decode_leaves(v, datatype) for v in value]
    if datatype == "BYTES":
        if isinstance(value, bytes):
            return value.decode("utf-8", errors="backslashreplace")
        return str(value)
    if datatype in FLOAT_TYPES:
        return _json_float(float(value))
    return value


def _shortest_floats(array: np.ndarray) -> np.ndarray:
    """FP16/FP32 values as the float64 their shortest decimal spells, so 0.7 comes
    back as 0.7 and not 0.699999988079071 (and FP16's 65504 as 65500, which is
    the same FP16 number)."""
    flat = [float(str(value)) for value in array.ravel()]
    return np.array(flat, dtype=np.float64).reshape(array.shape)


def decode(spec: TensorSpec, array: np.ndarray, *, batched: bool = True) -> list[Any] | Any:
    """A tensor -> JSON: one value per item when batched, else the whole tensor.
    Items of a [1]-shaped output come back as bare values."""
    if spec.datatype in SHORT_FLOATS:
        array = _shortest_floats(array)
    rows = array.tolist() if batched else [array.tolist()]
    squeeze = len(spec.dims) - spec.squeezed_rank
    decoded = []
    for row in rows:
        value = _decode_leaves(row, spec.datatype)
        for _ in range(squeeze):
            if not (isinstance(value, list) and len(value) == 1):
                break
            value = value[0]
        decoded.append(value)
    return decoded if batched else decoded[0]
