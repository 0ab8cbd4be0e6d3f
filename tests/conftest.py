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
    # The flush after a transactional test never loses a deadlock to a module's worker.
    flush_outwaits_deadlocks()
