"""The real Triton server of the inference tests (PyTriton, demo models), over HTTP only."""

import pytest

from tests.inference.conftest import registered_server, triton  # noqa: F401  (fixtures)


@pytest.fixture
def protocol() -> str:
    return "http"
