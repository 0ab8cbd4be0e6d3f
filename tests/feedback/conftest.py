"""The session's Triton server (tests/fixtures/triton.py) as `registered_server`, over
HTTP only."""

import pytest


@pytest.fixture
def protocol() -> str:
    return "http"
