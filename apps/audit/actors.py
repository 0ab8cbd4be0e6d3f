"""Who did something, and to what: small value objects the audit service accepts
besides users, API tokens and model instances."""

from __future__ import annotations

from dataclasses import dataclass

USER = "user"
TOKEN = "token"
SYSTEM = "system"
MODEL = "model"
ANONYMOUS = "anonymous"
ACTOR_TYPES = (USER, TOKEN, SYSTEM, MODEL, ANONYMOUS)


@dataclass(frozen=True)
class Actor:
    """An actor that is not a signed-in user: a system component, an AI model,
    or an anonymous caller. `label` is the display name copied into the event."""

    type: str
    id: str = ""
    label: str = ""
    user_id: int | None = None

    def __post_init__(self) -> None:
        if self.type not in ACTOR_TYPES:
            raise ValueError(f"unknown actor type {self.type!r}; use one of {ACTOR_TYPES}")

    @classmethod
    def system(cls, name: str = "weft") -> Actor:
        """A part of Weft acting on its own: the scheduler, the engine, a sweep."""
        return cls(SYSTEM, name, name)

    @classmethod
    def model(cls, name: str, version: str | int = "") -> Actor:
        """An AI model that took a decision (a Triton model and its version)."""
        version = str(version)
        return cls(MODEL, f"{name}:{version}" if version else name,
                   f"{name} v{version}" if version else name)

    @classmethod
    def anonymous(cls, label: str = "") -> Actor:
        return cls(ANONYMOUS, "", label or "anonymous")


@dataclass(frozen=True)
class Target:
    """The object an action was about, when it is not a model instance at hand."""

    type: str
    id: str = ""
    label: str = ""
