"""The session's PyTriton demo server (tests/inference/conftest.py) for the templates."""

from tests.inference.conftest import triton  # noqa: F401
