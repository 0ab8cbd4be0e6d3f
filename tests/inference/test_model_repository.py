"""The deployment's model path: `make triton-repository` exports the demo models into
a Triton model repository (Python backend), and Triton's own server binary serves it
to the inference node over HTTP and gRPC with the same answers as the demo server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from apps.inference.client import close_shared_clients
from apps.inference.nodes import TritonInference, TritonInferenceConfig
from apps.inference.repository import repository_export
from apps.nodes.base import NodeContext
from tests.inference.triton_binary import TritonBinary

ROOT = Path(__file__).resolve().parents[2]
MODELS = ("ticket_urgency", "invoice_risk")


@pytest.fixture(scope="module")
def tritonserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonBinary]:
    repository = tmp_path_factory.mktemp("repository")
    assert repository_export(folder=repository) == list(MODELS)
    server = TritonBinary.start(repository=repository, models=MODELS)
    yield server
    close_shared_clients()
    server.stop()


def _execute(server: TritonBinary, protocol: str, evaluate: Callable[..., Any],
             value: Any, **config: Any) -> dict[str, Any]:
    context = NodeContext(
        run_id="run-1", node_id="classify", attempt=1, inputs={"in": value},
        services={"triton": {"deployed": server.connection(protocol)}, "expressions": evaluate},
    )
    node_config = TritonInferenceConfig(server="deployed", **config)
    return TritonInference().execute(context, node_config).ports["out"]


def test_export_writes_a_python_backend_repository(tmp_path: Path) -> None:
    repository_export(folder=tmp_path)
    for name in MODELS:
        config = (tmp_path / name / "config.pbtxt").read_text()
        assert f'name: "{name}"' in config
        assert 'backend: "python"' in config
        assert "max_batch_size: 64" in config
        assert {p.name for p in (tmp_path / name / "1").iterdir()} == {
            "model.py", "model.json", f"{name}.py", "weights"}
    assert (tmp_path / "ticket_urgency/1/weights/ticket_urgency.npz").read_bytes() == (
        ROOT / "models/weights/ticket_urgency.npz").read_bytes()


def test_compose_triton_reads_the_exported_folder() -> None:
    compose = (ROOT / "compose.yaml").read_text()
    assert '"./models/repository:/models:ro"' in compose
    assert "--model-repository=/models" in compose
    assert 'OPENBLAS_NUM_THREADS: "1"' in compose
    makefile = (ROOT / "Makefile").read_text()
    assert "-m apps.inference.repository models/repository" in makefile


def test_inference_node_against_tritonserver(
    tritonserver: TritonBinary, protocol: str, cel_evaluate: Callable[..., Any],
    triton: Any,
) -> None:
    ticket = {"subject": "Production outage", "body": "Nobody can log in, everything returns 500."}
    config = {"model": "ticket_urgency", "inputs": {"text": 'input.subject + ". " + input.body'}}
    deployed = _execute(tritonserver, protocol, cel_evaluate, ticket, **config)
    assert deployed["label"] == "critical"
    assert (deployed["model"], deployed["version"]) == ("ticket_urgency", "1")
    # The same weights: the PyTriton demo server gives the same probabilities.
    demo_context = NodeContext(
        run_id="run-1", node_id="classify", attempt=1, inputs={"in": ticket},
        services={"triton": {"demo": triton.connection(protocol)}, "expressions": cel_evaluate},
    )
    demo = TritonInference().execute(
        demo_context, TritonInferenceConfig(server="demo", **config)).ports["out"]
    assert deployed["outputs"]["probabilities"] == pytest.approx(demo["outputs"]["probabilities"])


def test_batched_invoices_against_tritonserver(
    tritonserver: TritonBinary, protocol: str, cel_evaluate: Callable[..., Any],
) -> None:
    invoices = [[3.0, 30, 8, 0, 0, 0, 0, 1], [5.2, 2, 0.1, 3, 1, 1, 1, 0]] * 10
    out = _execute(tritonserver, protocol, cel_evaluate, {"invoices": invoices},
                   model="invoice_risk", inputs={"features": "input.invoices"})
    assert out["count"] == 20
    assert [item["label"] for item in out["items"]][:2] == ["ok", "risky"]


def test_the_deployment_serves_every_output_the_demo_server_serves(
    tritonserver: TritonBinary, protocol: str, cel_evaluate: Callable[..., Any],
    triton: Any,
) -> None:
    invoice = {"features": [5.2, 2, 0.1, 3, 1, 1, 1, 0]}
    config = {"model": "invoice_risk", "inputs": {"features": "input.features"}}
    deployed = _execute(tritonserver, protocol, cel_evaluate, invoice, **config)
    demo_context = NodeContext(
        run_id="run-1", node_id="classify", attempt=1, inputs={"in": invoice},
        services={"triton": {"demo": triton.connection(protocol)}, "expressions": cel_evaluate},
    )
    demo = TritonInference().execute(
        demo_context, TritonInferenceConfig(server="demo", **config)).ports["out"]
    assert set(deployed["outputs"]) == set(demo["outputs"])
    # The explanation a reviewer reads: each feature's share of the risk, by name.
    assert [e["feature"] for e in deployed["explanation"]] == [
        e["feature"] for e in demo["explanation"]]
    assert [e["contribution"] for e in deployed["explanation"]] == pytest.approx(
        [e["contribution"] for e in demo["explanation"]], abs=1e-5)
    assert deployed["label"] == demo["label"] == "risky"
