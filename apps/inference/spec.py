"""A model's interface as Weft uses it, read from Triton's metadata and config.

HTTP and gRPC (with `as_json=True`) return the same documents except that gRPC
spells 64-bit numbers as strings and wraps the config in {"config": ...};
both are normalised here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

LABEL_OUTPUT_NAMES = ("label", "labels", "class", "class_name")


@dataclass(frozen=True)
class TensorSpec:
    name: str
    datatype: str  # Triton's name: BOOL, INT8 .. UINT64, FP16, FP32, FP64, BF16, BYTES
    dims: tuple[int, ...]  # per item (without the batch dimension when the model batches); -1 = any
    optional: bool = False

    @property
    def squeezed_rank(self) -> int:
        """Rank once trailing dimensions of exactly 1 are dropped: an item of a
        [1]-shaped input may be given as a bare value, and comes back as one."""
        rank = len(self.dims)
        while rank and self.dims[rank - 1] == 1:
            rank -= 1
        return rank

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "datatype": self.datatype,
            "shape": list(self.dims),
            "optional": self.optional,
        }


@dataclass(frozen=True)
class ModelSpec:
    name: str
    versions: tuple[str, ...]
    platform: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    max_batch_size: int
    labels: tuple[str, ...] = ()
    parameters: dict[str, str] = field(default_factory=dict)

    @property
    def batches(self) -> bool:
        return self.max_batch_size > 0

    def input(self, name: str) -> TensorSpec | None:
        return next((t for t in self.inputs if t.name == name), None)

    def output(self, name: str) -> TensorSpec | None:
        return next((t for t in self.outputs if t.name == name), None)

    @property
    def input_names(self) -> list[str]:
        return [t.name for t in self.inputs]

    @property
    def output_names(self) -> list[str]:
        return [t.name for t in self.outputs]

    @property
    def required_inputs(self) -> list[str]:
        return [t.name for t in self.inputs if not t.optional]

    @property
    def label_output(self) -> str | None:
        for t in self.outputs:
            if (
                t.name.lower() in LABEL_OUTPUT_NAMES
                and t.datatype == "BYTES"
                and t.squeezed_rank == 0
            ):
                return t.name
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "versions": list(self.versions),
            "platform": self.platform,
            "max_batch_size": self.max_batch_size,
            "inputs": [t.as_dict() for t in self.inputs],
            "outputs": [t.as_dict() for t in self.outputs],
            "labels": list(self.labels),
        }


def _unwrap_config(config: dict[str, Any]) -> dict[str, Any]:
    return config.get("config", config) if "config" in config and "name" not in config else config


def _parameters(config: dict[str, Any]) -> dict[str, str]:
    raw = config.get("parameters") or {}
    return {key: str((value or {}).get("string_value", "")) for key, value in raw.items()}


def parse_labels(text: str) -> tuple[str, ...]:
    """A `labels` model parameter: a JSON list or comma-separated names."""
    text = text.strip()
    if not text:
        return ()
    if text.startswith("["):
        try:
            return tuple(str(v) for v in json.loads(text))
        except (ValueError, TypeError):
            pass
    return tuple(part.strip() for part in text.split(","))


def _tensors(
    meta: list[dict[str, Any]], config: list[dict[str, Any]], batches: bool
) -> tuple[TensorSpec, ...]:
    optional = {t["name"]: bool(t.get("optional", False)) for t in config}
    tensors = []
    for t in meta:
        shape = tuple(int(d) for d in t.get("shape", ()))
        dims = shape[1:] if batches else shape
        tensors.append(TensorSpec(t["name"], t["datatype"], dims, optional.get(t["name"], False)))
    return tuple(tensors)


def model_spec_from(metadata: dict[str, Any], config: dict[str, Any]) -> ModelSpec:
    config = _unwrap_config(config)
    max_batch_size = int(config.get("max_batch_size", 0) or 0)
    parameters = _parameters(config)
    return ModelSpec(
        name=metadata["name"],
        versions=tuple(str(v) for v in metadata.get("versions", ())),
        platform=metadata.get("platform", "") or config.get("backend", ""),
        inputs=_tensors(metadata.get("inputs", []), config.get("input", []), max_batch_size > 0),
        outputs=_tensors(metadata.get("outputs", []), config.get("output", []), max_batch_size > 0),
        max_batch_size=max_batch_size,
        labels=parse_labels(parameters.get("labels", "")),
        parameters=parameters,
    )
