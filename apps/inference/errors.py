"""What can go wrong when calling a model, as exceptions the engine can act on.

`retryable` tells the engine whether its retry policy applies (the server was
unreachable, overloaded or slow) or the error path should be taken at once (the
request itself is wrong and would fail again). Messages name the model, input
or output they are about; `as_dict()` is what gets stored on a NodeRun.
"""

from __future__ import annotations

import re
import socket
from typing import Any

from tritonclient.utils import InferenceServerException

from apps.nodes.base import NodeError


class InferenceError(NodeError):
    """A node error (the engine's failure policy applies: retries for the retryable
    ones, then the node's `error` port or default output)."""

    code = "inference_error"
    retryable = False

    def __init__(self, message: str, *, model: str = "", input: str = "", output: str = "") -> None:
        details = {key: value for key, value in
                   (("model", model), ("input", input), ("output", output)) if value}
        super().__init__(self.code, message, retryable=type(self).retryable, details=details)
        self.model = model
        self.input = input
        self.output = output

    def as_dict(self) -> dict[str, Any]:
        detail: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "retryable": self.retryable,
        }
        for key in ("model", "input", "output"):
            if value := getattr(self, key):
                detail[key] = value
        return detail


class ServerUnavailable(InferenceError):
    """Connection refused or reset, 502/503/504, gRPC UNAVAILABLE: try again later."""

    code = "server_unavailable"
    retryable = True


class InferenceTimeout(ServerUnavailable):
    code = "timeout"


class ModelNotFound(InferenceError):
    code = "model_not_found"


class InputError(InferenceError):
    """A value that does not fit the model's input: unknown name, shape, datatype."""

    code = "invalid_input"


class OutputError(InferenceError):
    code = "invalid_output"


class ModelError(InferenceError):
    """The model itself failed on a well-formed request."""

    code = "model_error"


class ConfigError(InferenceError):
    """The node's own configuration is unusable (unknown server, bad expression)."""

    code = "invalid_config"


RETRYABLE_STATUSES = {
    "429",
    "502",
    "503",
    "504",
    "UNAVAILABLE",
    "DEADLINE_EXCEEDED",
    "RESOURCE_EXHAUSTED",
    "ABORTED",
    "CANCELLED",
}
NOT_FOUND_STATUSES = {"404", "NOT_FOUND"}
BAD_REQUEST_STATUSES = {"400", "INVALID_ARGUMENT"}
_NAMED = re.compile(r"\b(input|output) '([^']+)'")


def _status(exc: InferenceServerException) -> str:
    status = str(exc.status() or "")
    return status.removeprefix("StatusCode.")


def from_server_exception(exc: InferenceServerException, *, model: str) -> InferenceError:
    status, message = _status(exc), exc.message() or str(exc)
    if status == "DEADLINE_EXCEEDED":
        return InferenceTimeout(f"model {model!r}: no answer in time ({message})", model=model)
    if status in RETRYABLE_STATUSES:
        return ServerUnavailable(f"model {model!r}: server unavailable ({message})", model=model)
    if status in NOT_FOUND_STATUSES:
        return ModelNotFound(
            f"model {model!r} is not available on the server ({message})", model=model
        )
    if status in BAD_REQUEST_STATUSES:
        return _bad_request(message, model=model)
    return ModelError(f"model {model!r} failed: {message}", model=model)


def _bad_request(message: str, *, model: str) -> InferenceError:
    clean = message.replace("[request id: <id_unknown>] ", "")
    match = _NAMED.search(clean)
    if match and match.group(1) == "output":
        return OutputError(clean, model=model, output=match.group(2))
    return InputError(clean, model=model, input=match.group(2) if match else "")


def from_exception(exc: BaseException, *, model: str, url: str) -> InferenceError:
    """Any exception raised by tritonclient -> one of ours."""
    if isinstance(exc, InferenceError):
        return exc
    if isinstance(exc, InferenceServerException):
        return from_server_exception(exc, model=model)
    if isinstance(exc, TimeoutError | socket.timeout) or type(exc).__name__ == "Timeout":
        return InferenceTimeout(f"Triton at {url} did not answer in time", model=model)
    if isinstance(exc, OSError):
        reason = exc.strerror or str(exc) or type(exc).__name__
        return ServerUnavailable(f"cannot reach Triton at {url}: {reason}", model=model)
    return ModelError(f"model {model!r}: {type(exc).__name__}: {exc}", model=model)
