"""`data.pseudonymise`: replaces chosen fields with stable keyed hashes (HMAC-SHA256 with
WEFT_PSEUDONYM_KEY), so records about one person still match each other after the
person's data is gone. The same value always gives the same pseudonym; without the key
nobody can compute it from a guess."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from pydantic import Field, field_validator

from apps.audit.personal import keyed_hash, replace_at
from apps.nodes.base import (
    EnvironmentProblem,
    NodeConfig,
    NodeContext,
    NodeError,
    NodeType,
    Outputs,
    Port,
)
from apps.nodes.registry import registry
from apps.privacy.selectors import pseudonym_key


class PseudonymiseConfig(NodeConfig):
    fields: list[str] = Field(
        min_length=1, max_length=100, title="Fields",
        description="Dotted paths in the input to replace, such as customer.email or "
                    "items.*.name (* is any key or list item).")
    normalise: bool = Field(True, title="Ignore case and spaces",
                            description="Ann@Example.com and ann@example.com give the same "
                                        "pseudonym.")
    length: int = Field(32, ge=16, le=64, title="Length",
                        description="Hex characters kept of each hash (16-64).")

    @field_validator("fields")
    @classmethod
    def _paths(cls, value: list[str]) -> list[str]:
        for path in value:
            parts = path.split(".")
            if not path.strip() or any(not p.strip() for p in parts) or len(path) > 300:
                raise ValueError(f"{path!r} is not a dotted path such as customer.email")
        return value


@registry.register
class PseudonymiseNode(NodeType):
    type = "data.pseudonymise"
    category = "data"
    label = "Pseudonymise"
    description = ("Replaces chosen fields with stable keyed hashes: the same person gets "
                   "the same pseudonym, and nobody without the key can reverse it.")
    icon = "eye-off"
    pure = True
    inputs = (Port("in"),)
    outputs = (Port("out"),)
    Config = PseudonymiseConfig

    @classmethod
    def check_environment(cls, config: PseudonymiseConfig) -> list[EnvironmentProblem]:  # type: ignore[override]
        try:
            pseudonym_key()
        except ImproperlyConfigured as exc:
            return [EnvironmentProblem(message=str(exc), code="no_pseudonym_key")]
        return []

    def execute(self, context: NodeContext, config: PseudonymiseConfig) -> Outputs:
        try:
            key = pseudonym_key()
        except ImproperlyConfigured as exc:
            raise NodeError("configuration", str(exc)) from None

        def hash_of(value: Any) -> str:
            text = value if isinstance(value, str) else str(value)
            if config.normalise:
                text = " ".join(text.split()).casefold()
            return keyed_hash(text, key=key)[:config.length]

        def pseudonym(value: Any) -> Any:
            return value if value is None or isinstance(value, dict | list) else hash_of(value)

        value = context.inputs.get("in")
        for path in config.fields:
            value = replace_at(value, path.split("."), pseudonym)
        return Outputs({"out": value})
