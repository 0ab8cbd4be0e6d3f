"""Export the demo models into a Triton model repository (Python backend) for
Triton's own server, as `compose.yaml` runs it:

    python -m apps.inference.repository models/repository     # make triton-repository

Each model gets `config.pbtxt` (its tensors and batch size, taken from
`apps.inference.demo_models`, so the two never drift apart) and a version folder `1/`
holding `model.py` (this package's `backend_model.py`), a `model.json` naming what
it loads, and a copy of the model's module from `models/` with its weights. The
exported folder needs only numpy in Triton's Python: nothing of Weft or Django.
No Django here.
"""

from __future__ import annotations

from apps.inference.repository.export import (
    EXPORTED_MODELS,
    ExportedModel,
    model_config_text,
    repository_export,
)

__all__ = ["EXPORTED_MODELS", "ExportedModel", "model_config_text", "repository_export"]
