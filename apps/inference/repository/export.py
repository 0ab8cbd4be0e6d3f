"""Write the demo models as a Triton Python-backend model repository."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from apps.inference.demo_models import DemoModel, invoice_risk_model, ticket_urgency_model
from models import invoice_risk, ticket_urgency

BACKEND_MODEL = Path(__file__).with_name("backend_model.py")
VERSION = "1"

# numpy dtype of a PyTriton tensor -> Triton's config type.
CONFIG_TYPES: dict[np.dtype, str] = {
    np.dtype(np.bool_): "TYPE_BOOL",
    np.dtype(np.int8): "TYPE_INT8",
    np.dtype(np.int16): "TYPE_INT16",
    np.dtype(np.int32): "TYPE_INT32",
    np.dtype(np.int64): "TYPE_INT64",
    np.dtype(np.uint8): "TYPE_UINT8",
    np.dtype(np.float16): "TYPE_FP16",
    np.dtype(np.float32): "TYPE_FP32",
    np.dtype(np.float64): "TYPE_FP64",
    np.dtype(np.bytes_): "TYPE_STRING",
    np.dtype(np.object_): "TYPE_STRING",
}


@dataclass(frozen=True)
class ExportedModel:
    """A demo model as the exported `model.py` loads it: the module file from
    `models/`, the class in it, and whether its one input is text."""

    build: type
    module_file: Path
    weights_file: Path
    class_name: str
    text_input: bool

    def demo(self) -> DemoModel:
        return self.build()  # type: ignore[no-any-return]


EXPORTED_MODELS: tuple[ExportedModel, ...] = (
    ExportedModel(
        build=ticket_urgency_model,  # type: ignore[arg-type]
        module_file=Path(ticket_urgency.__file__),
        weights_file=ticket_urgency.WEIGHTS_PATH,
        class_name="TicketUrgencyModel",
        text_input=True,
    ),
    ExportedModel(
        build=invoice_risk_model,  # type: ignore[arg-type]
        module_file=Path(invoice_risk.__file__),
        weights_file=invoice_risk.WEIGHTS_PATH,
        class_name="InvoiceRiskModel",
        text_input=False,
    ),
)


def _config_type(dtype: object) -> str:
    kind = np.dtype(np.bytes_) if dtype is bytes else np.dtype(dtype)  # type: ignore[call-overload]
    return CONFIG_TYPES[kind]


def _tensors_text(tensors: tuple, indent: str = "  ") -> str:
    entries = []
    for tensor in tensors:
        dims = ", ".join(str(d) for d in tensor.shape)
        entries.append(
            f'{indent}{{\n{indent}  name: "{tensor.name}"\n'
            f"{indent}  data_type: {_config_type(tensor.dtype)}\n"
            f"{indent}  dims: [ {dims} ]\n{indent}}}"
        )
    return ",\n".join(entries)


def model_config_text(model: DemoModel) -> str:
    """`config.pbtxt` for the Python backend: the same tensors and batch size as
    the PyTriton demo server serves."""
    return (
        f'name: "{model.name}"\n'
        'backend: "python"\n'
        f"max_batch_size: {model.max_batch_size}\n"
        f"input [\n{_tensors_text(model.inputs)}\n]\n"
        f"output [\n{_tensors_text(model.outputs)}\n]\n"
        "dynamic_batching { }\n"
        "instance_group [ { kind: KIND_CPU, count: 1 } ]\n"
    )


def _export_one(exported: ExportedModel, folder: Path) -> str:
    model = exported.demo()
    target = folder / model.name
    if target.exists():
        shutil.rmtree(target)
    version = target / VERSION
    (version / "weights").mkdir(parents=True)
    (target / "config.pbtxt").write_text(model_config_text(model))
    shutil.copyfile(BACKEND_MODEL, version / "model.py")
    shutil.copyfile(exported.module_file, version / exported.module_file.name)
    shutil.copyfile(exported.weights_file, version / "weights" / exported.weights_file.name)
    description = {
        "module": exported.module_file.stem,
        "class": exported.class_name,
        "input": model.inputs[0].name,
        "text_input": exported.text_input,
    }
    (version / "model.json").write_text(json.dumps(description, indent=2) + "\n")
    return model.name


def repository_export(*, folder: Path) -> list[str]:
    """(Re)write every demo model under `folder`; other folders there are left alone.
    Returns the model names written."""
    folder.mkdir(parents=True, exist_ok=True)
    return [_export_one(exported, folder) for exported in EXPORTED_MODELS]
