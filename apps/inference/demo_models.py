"""The demo models served by the local PyTriton server (`apps.inference.server`).

Each one is a name, its tensors, a batch size and an infer function over numpy
batches. No Django here: the server process imports only this and `models`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from pytriton.decorators import batch
from pytriton.model_config import Tensor

from apps.inference.codec import NUMPY_DTYPES
from models import invoice_risk, ticket_urgency

InferFn = Callable[..., dict[str, np.ndarray]]
MAX_BATCH_SIZE = 64


@dataclass(frozen=True)
class DemoModel:
    name: str
    inputs: tuple[Tensor, ...]
    outputs: tuple[Tensor, ...]
    infer: InferFn
    max_batch_size: int = MAX_BATCH_SIZE


def _decode_rows(column: np.ndarray) -> list[str]:
    """A (batch, 1) BYTES column -> one Python string per row."""
    return [
        value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
        for value in column.reshape(len(column), -1)[:, 0]
    ]


def ticket_urgency_model() -> DemoModel:
    model = ticket_urgency.TicketUrgencyModel.load()

    @batch
    def infer(text: np.ndarray) -> dict[str, np.ndarray]:
        return model.outputs(_decode_rows(text))

    return DemoModel(
        name="ticket_urgency",
        inputs=(Tensor(name="text", dtype=bytes, shape=(1,)),),
        outputs=(
            Tensor(name="probabilities", dtype=np.float32, shape=(len(model.labels),)),
            Tensor(name="label", dtype=bytes, shape=(1,)),
        ),
        infer=infer,
    )


def invoice_risk_model() -> DemoModel:
    model = invoice_risk.InvoiceRiskModel.load()

    @batch
    def infer(features: np.ndarray) -> dict[str, np.ndarray]:
        return model.outputs(features)

    return DemoModel(
        name="invoice_risk",
        inputs=(Tensor(name="features", dtype=np.float32, shape=(invoice_risk.N_FEATURES,)),),
        outputs=(
            Tensor(name="probabilities", dtype=np.float32, shape=(len(model.labels),)),
            Tensor(name="label", dtype=bytes, shape=(1,)),
            Tensor(name="explanation", dtype=np.float32, shape=(invoice_risk.N_FEATURES,)),
            Tensor(name="explanation_features", dtype=bytes,
                   shape=(invoice_risk.N_FEATURES,)),
        ),
        infer=infer,
    )


# Triton datatype -> numpy dtype the echo model declares for it: the codec's table,
# less BF16 (numpy has no bfloat16) and with BYTES declared as bytes.
ECHO_DATATYPES: dict[str, type] = {
    name: bytes if name == "BYTES" else dtype
    for name, dtype in NUMPY_DTYPES.items() if name != "BF16"
}


def echo_input_name(datatype: str) -> str:
    return datatype.lower()


def echo_output_name(datatype: str) -> str:
    return f"{datatype.lower()}_echo"


def echo_model() -> DemoModel:
    """Every input is optional and comes back unchanged as `<name>_echo`."""

    @batch
    def infer(**inputs: np.ndarray) -> dict[str, np.ndarray]:
        return {f"{name}_echo": value for name, value in inputs.items()}

    return DemoModel(
        name="echo",
        inputs=tuple(
            Tensor(name=echo_input_name(dt), dtype=np_type, shape=(-1,), optional=True)
            for dt, np_type in ECHO_DATATYPES.items()
        ),
        outputs=tuple(
            Tensor(name=echo_output_name(dt), dtype=np_type, shape=(-1,))
            for dt, np_type in ECHO_DATATYPES.items()
        ),
        infer=infer,
    )


DEMO_MODEL_FACTORIES: tuple[Callable[[], DemoModel], ...] = (
    ticket_urgency_model,
    invoice_risk_model,
    echo_model,
)
