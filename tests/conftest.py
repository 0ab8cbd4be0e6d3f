"""Shared fixtures (tests/fixtures/*, registered below) that start real services once:

- `triton` (session): the demo models served by PyTriton (tests/fixtures/triton.py);
  `registered_server` is it as a TritonServer row over the directory's `protocol`.
  Tests that stop or restart a server start a throwaway `TritonProcess` of their own.
- `live_web` (session): uvicorn on the test database (tests/fixtures/live.py); with
  pytest-playwright's session `browser`, one server and one browser for the run.
- `celery_worker_process` / `io_worker_process` (module): a real worker and beat on a
  Redis of their own (tests/fixtures/runs.py). In tests/e2e, `celery_worker_process`
  and `live_web_on_worker` are one per package, and the modules using them run last
  (tests/e2e/conftest.py).
- After each transactional test the database flush outwaits a worker still writing
  (tests/fixtures/database.py).
"""

from tests.fixtures.database import flush_outwaits_deadlocks

pytest_plugins = [
    "tests.fixtures.accounts",
    "tests.fixtures.workflows",
    "tests.fixtures.live",
    "tests.fixtures.audit",
    "tests.fixtures.credentials",
    "tests.fixtures.console",
    "tests.fixtures.runs",
    "tests.fixtures.slow_http",
    "tests.fixtures.faults",
    "tests.fixtures.inference",
    "tests.fixtures.triton",
    "tests.fixtures.approvals",
    "tests.fixtures.core",
    "tests.fixtures.api",
]


def pytest_configure(config):
    from django.conf import settings

    # Real hashing costs ~0.3 s a user on 2 cores; tests create hundreds of users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Model-call records are written by the test itself (model_calls_flush), inside its
    # transaction, not by a thread on a connection of its own.
    settings.WEFT_MODEL_RECORD_THREAD = False
    settings.WEFT_MODEL_ROLLUP_SETTLE_S = 0
    # Pending audit events are chained by the thread that committed them, in order.
    settings.WEFT_AUDIT_CHAIN_THREAD = False
    # The flush after a transactional test never loses a deadlock to a module's worker.
    flush_outwaits_deadlocks()
