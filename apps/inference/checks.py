"""Publish-time checks of an inference node's config against a model's metadata: pure
functions of the config and the metadata (no Django, no server), each problem naming
the config field it is about."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apps.inference.spec import ModelSpec


@dataclass(frozen=True)
class MetadataProblem:
    field: str  # the config field, e.g. "inputs.text", "inputs", "outputs", "version"
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def metadata_problems(config: Any, metadata: ModelSpec) -> list[MetadataProblem]:
    """Where a config (an `inference.triton` node's) does not fit the model's metadata."""
    problems = []
    known_inputs = ", ".join(metadata.input_names)
    for name in config.inputs:
        if metadata.input(name) is None:
            problems.append(MetadataProblem(
                f"inputs.{name}",
                f"model {metadata.name!r} has no input {name!r} (its inputs: {known_inputs})"))
    for name in metadata.required_inputs:
        if name not in config.inputs:
            problems.append(MetadataProblem(
                "inputs",
                f"model {metadata.name!r} requires input {name!r}, which has no expression"))
    for name in config.outputs:
        if metadata.output(name) is None:
            problems.append(MetadataProblem(
                "outputs", f"model {metadata.name!r} has no output {name!r} "
                           f"(its outputs: {', '.join(metadata.output_names)})"))
    if config.version and metadata.versions and config.version not in metadata.versions:
        problems.append(MetadataProblem(
            "version", f"model {metadata.name!r} has no version {config.version} "
                       f"(it has: {', '.join(metadata.versions)})"))
    return problems
