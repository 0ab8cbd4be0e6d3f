"""Schema fuzzing: every operation of /api/schema/, called with generated requests
(schemathesis, fixed seed, a bounded number of examples), must answer without a server
error and exactly as the schema says (documented status code, content type and body).

It runs in-process through Django's WSGI handler inside each test's transaction, so
everything it creates, changes or deletes (the engine's kill switch included) is rolled
back at the end of each operation's test: it never touches data other tests rely on.
"""

from __future__ import annotations

import os
import zlib

import pytest
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.accounts.services import token_create
from apps.runs import services as run_services
from tests.fixtures.api import api_schema
from tests.fixtures.runs import flow

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = int(os.environ.get("WEFT_FUZZ_EXAMPLES", "20"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
GATEWAY_STATUSES = (502, 503, 504)
# A client address of its own (TEST-NET-1): the login throttle's bucket it fills up is
# not the one other tests' requests (127.0.0.1) count in.
CLIENT = {"REMOTE_ADDR": "192.0.2.77"}

schema = api_schema()


@pytest.fixture
def fuzz_data(keep_test_connection, create_user, create_credential, create_triton_server,
              publish):
    """This test's own objects: an admin with a token, a published workflow with a run,
    a credential, a Triton server nobody listens on. Path parameters point at them
    (most of the time), so operations reach past their 404."""
    admin = create_user(roles=["admin"])
    _, raw = token_create(user=admin, name="fuzz")
    # Deactivating or revoking the caller would turn the rest of the test into 401s.
    other = create_user(roles=["editor"])
    other_token, _ = token_create(user=other, name="other")
    workflow = publish(flow(("start", "trigger.manual"),
                            ("set", "test.set", {"values": {"done": True}}),
                            edges=[("start", "set")]), user=admin)
    run = run_services.run_start(workflow=workflow, input={"a": 1}, trigger="manual",
                                 user=admin)
    credential = create_credential(user=admin)
    server = create_triton_server(user=admin)
    ids = {"workflow_id": str(workflow.pk), "number": 1, "run_id": str(run.pk),
           "node_id": "set", "credential_id": str(credential.pk), "server_id": server.pk,
           "model": "identity", "user_id": other.pk, "token_id": other_token.pk, "seq": 1}
    yield {"headers": {"Authorization": f"Token {raw}"}, "ids": ids}
    # The kill switch's in-process cache must not outlive this test's rollback.
    run_services.engine_resume(workflow=None, user=admin)


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, database=None, deadline=None,
          phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_api_answers_as_its_schema_says(case, fuzz_data):
    if case.path_parameters and zlib.crc32(repr(sorted(case.path_parameters.items()))
                                           .encode()) % 4:
        for name in case.path_parameters:
            if name in fuzz_data["ids"]:
                case.path_parameters[name] = fuzz_data["ids"][name]
    response = case.call(headers=fuzz_data["headers"], environ_base=CLIENT)
    checks = CHECKS
    if (response.status_code in GATEWAY_STATUSES
            and str(response.status_code) in case.operation.definition.raw["responses"]):
        # The Triton "proxy" operations answer 502/503/504 (documented) when the upstream
        # fails: the test's server points at a port where nobody listens.
        checks = [check for check in CHECKS if check is not not_a_server_error]
    case.validate_response(response, checks=checks, headers=fuzz_data["headers"])
