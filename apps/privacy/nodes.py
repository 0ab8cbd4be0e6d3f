"""The personal-data node types.

`data.pseudonymise`: replaces chosen fields with stable keyed hashes (HMAC-SHA256 with
WEFT_PSEUDONYM_KEY), so records about one person still match each other after the
person's data is gone. The same value always gives the same pseudonym; without the key
nobody can compute it from a guess.

`privacy.erase`: the audited erase operation (apps.privacy.services) as a step: a
person's values replaced by "[erased]" in stored runs, in this workflow's runs or in
every workflow's; who may ask for which is `run_erase_authority`'s to say. The run that
erases keeps the values until it ends (its later steps may still need them, to tell the
person), then they are erased from it too (apps.privacy.engine)."""

from __future__ import annotations

from typing import Any, Literal

from django.core.exceptions import ImproperlyConfigured
from pydantic import Field, field_validator

from apps.audit.personal import keyed_hash, replace_at
from apps.expressions.core import ExpressionError
from apps.expressions.fields import CelField
from apps.expressions.services import expression_data
from apps.nodes.base import (
    ERROR_OUTPUT,
    EnvironmentProblem,
    ExecutionPolicy,
    NodeConfig,
    NodeContext,
    NodeError,
    NodeType,
    Outputs,
    Port,
    policy_field,
    upgrade_policy_added,
)
from apps.nodes.registry import registry
from apps.privacy.selectors import pseudonym_key
from apps.privacy.services import (
    ERASE_MIN_LENGTH,
    ErasureRefused,
    run_values_erase,
)
from apps.runs.models import Run

ERASE_MAX_VALUES = 50
ERASE_MAX_LENGTH = 500


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
    policy: ExecutionPolicy = policy_field()

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
    version = 2
    icon = "eye-off"
    pure = True
    inputs = (Port("in"),)
    outputs = (Port("out"), ERROR_OUTPUT)
    Config = PseudonymiseConfig
    upgrades = {1: upgrade_policy_added}

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


class EraseConfig(NodeConfig):
    values: str = CelField(
        min_length=1, max_length=2000, title="Values to erase",
        description="The person's values: one, or a list, such as "
                    "[run.input.account.email, run.input.account.name]. Each has at least "
                    f"{ERASE_MIN_LENGTH} characters; an empty one stops the run, erasing "
                    "nothing.")
    scope: Literal["workflow", "everywhere"] = Field(
        "workflow", title="Erase in",
        description="This workflow's runs; or also every run, in any workflow, whose input "
                    "or result holds a value (needs the person who publishes this "
                    "workflow, or starts its test run, to be an admin).",
        json_schema_extra={"x-weft-enum-labels": ["This workflow's runs",
                                                  "Every workflow's runs"]})
    policy: ExecutionPolicy = policy_field()


def erase_values(context: NodeContext, config: EraseConfig) -> list[str]:
    """The values the node's expression gives, checked: text, long enough, not too many.
    Errors say which position is wrong, never the value (it is personal data)."""
    try:
        found = context.services["expressions"](config.values, expression_data(context))
    except ExpressionError as exc:
        raise NodeError("expression", exc.message) from None
    found = found if isinstance(found, list) else [found]
    if not found:
        raise NodeError("nothing_to_erase", "'Values to erase' gave an empty list: nothing "
                        "was erased.")
    if len(found) > ERASE_MAX_VALUES:
        raise NodeError("too_many_values", f"'Values to erase' gave {len(found)} values; "
                        f"at most {ERASE_MAX_VALUES}. Nothing was erased.")
    values = []
    for index, value in enumerate(found):
        text = value.strip() if isinstance(value, str) else None
        if text is None or not ERASE_MIN_LENGTH <= len(text) <= ERASE_MAX_LENGTH:
            kind = "not text" if text is None else f"{len(text)} characters long"
            raise NodeError("invalid_value", f"Value {index + 1} of 'Values to erase' is "
                            f"{kind}; each must be text of {ERASE_MIN_LENGTH} to "
                            f"{ERASE_MAX_LENGTH} characters. Nothing was erased.")
        values.append(text)
    return list(dict.fromkeys(values))


@registry.register
class EraseNode(NodeType):
    type = "privacy.erase"
    category = "data"
    label = "Erase personal data"
    description = ("Replaces a person's values with \"[erased]\" in stored runs, audited "
                   "with only a keyed hash of each; outputs how many runs, steps and tasks "
                   "changed. This run keeps the values until it ends, then loses them too.")
    icon = "trash"
    inputs = (Port("in"),)
    outputs = (Port("out"), ERROR_OUTPUT)
    Config = EraseConfig

    def execute(self, context: NodeContext, config: EraseConfig) -> Outputs:
        values = erase_values(context, config)
        run = Run.objects.select_related("workflow", "version__created_by").get(
            pk=context.run_id)
        try:
            counts = run_values_erase(run=run, values=values,
                                      everywhere=config.scope == "everywhere")
        except ErasureRefused as exc:
            raise NodeError("not_permitted", str(exc)) from None
        return Outputs({"out": {**counts, "values": len(values), "scope": config.scope}})
