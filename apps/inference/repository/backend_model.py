"""Triton Python-backend `model.py` of an exported demo model (copied next to its
`model.json`, the model's module from `models/` and its weights).

It runs inside Triton's Python stub, not in Weft: it needs only numpy and
`triton_python_backend_utils`, which Triton provides. Every output comes from the
model's own `outputs()`, which the PyTriton demo server (`apps.inference.demo_models`)
serves too: the two answer the same tensors.
"""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import triton_python_backend_utils as pb_utils

HERE = Path(__file__).resolve().parent


def _load_module(name):
    spec = importlib.util.spec_from_file_location(f"weft_exported_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while loading
    spec.loader.exec_module(module)
    return module


def _decode_rows(column):
    return [
        value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
        for value in column.reshape(len(column), -1)[:, 0]
    ]


class TritonPythonModel:
    def initialize(self, args):
        description = json.loads((HERE / "model.json").read_text())
        module = _load_module(description["module"])
        self.model = getattr(module, description["class"]).load()
        self.input = description["input"]
        self.text_input = bool(description["text_input"])

    def execute(self, requests):
        responses = []
        for request in requests:
            values = pb_utils.get_input_tensor_by_name(request, self.input).as_numpy()
            outputs = self.model.outputs(_decode_rows(values) if self.text_input else values)
            responses.append(pb_utils.InferenceResponse(output_tensors=[
                pb_utils.Tensor(name, np.asarray(value)) for name, value in outputs.items()]))
        return responses
