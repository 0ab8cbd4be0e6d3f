"""Everything that reads Triton servers and what they serve, for the API and
for the publish-time check of inference nodes."""

from __future__ import annotations

from django.core.cache import cache
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from apps.inference.checks import metadata_problems
from apps.inference.client import ModelStatus, TritonClient, shared_client
from apps.inference.errors import InferenceError, ModelNotFound, ServerUnavailable
from apps.inference.models import TritonServer
from apps.inference.services import triton_server_connection
from apps.inference.spec import ModelSpec
from apps.nodes.base import EnvironmentProblem

SPEC_CACHE_S = 30
# Listing and metadata answer in milliseconds; a server that does not is reported as down.
METADATA_TIMEOUT_S = 5.0


def triton_server_list() -> QuerySet[TritonServer]:
    return TritonServer.objects.all()


def triton_server_get(*, server_id: int) -> TritonServer:
    return get_object_or_404(TritonServer, pk=server_id)


def _client(server: TritonServer) -> TritonClient:
    return shared_client(triton_server_connection(server),
                         timeout_s=min(server.timeout_s, METADATA_TIMEOUT_S))


def triton_server_models(*, server: TritonServer) -> list[ModelStatus]:
    """Names, versions and readiness. Raises ServerUnavailable when the server is down."""
    client = _client(server)
    client.ensure_ready()
    return client.list_models()


def triton_model_spec(*, server: TritonServer, model: str, version: str = "") -> ModelSpec:
    """Inputs, outputs, datatypes, shapes, batch size; cached for SPEC_CACHE_S in the
    shared cache (a changed server row is a new key)."""
    key = f"inference:spec:{server.pk}:{server.updated_at.timestamp()}:{model}:{version}"
    spec = cache.get(key)
    if spec is None:
        spec = _client(server).model_spec(model, version, refresh=True)
        cache.set(key, spec, SPEC_CACHE_S)
    return spec


def triton_node_problems(*, server_name: str, model: str, version: str,
                         config) -> list[EnvironmentProblem]:
    """An inference node's config against the server and model it names (publish)."""
    server = TritonServer.objects.filter(name=server_name).first()
    if server is None:
        return [EnvironmentProblem(f"server {server_name!r} is not a configured Triton server",
                                   code="unknown_server", field="config.server")]
    if not server.is_active:
        return [EnvironmentProblem(f"Triton server {server_name!r} is switched off",
                                   code="server_inactive", field="config.server")]
    try:
        spec = triton_model_spec(server=server, model=model, version=version)
    except ModelNotFound:
        return [EnvironmentProblem(f"model {model!r}{f' version {version}' if version else ''} "
                                   f"is not available on Triton server {server_name!r}",
                                   code="model_mismatch", field="config.model")]
    except ServerUnavailable as exc:
        return [EnvironmentProblem(f"Triton server {server_name!r} is unavailable, so model "
                                   f"{model!r} could not be checked: {exc.message}",
                                   code="server_unavailable", field="config.server")]
    except InferenceError as exc:
        return [EnvironmentProblem(f"model {model!r} on Triton server {server_name!r} could "
                                   f"not be checked: {exc.message}", code="model_mismatch",
                                   field="config.model")]
    return [EnvironmentProblem(str(problem), code="model_mismatch", field=f"config.{problem.field}")
            for problem in metadata_problems(config, spec)]
