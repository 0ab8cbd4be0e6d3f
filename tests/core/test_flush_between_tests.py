"""The flush that empties the database after a transactional test survives a worker that
is still in a transaction (tests/fixtures/database.py). The deadlock is forced here, in
the order it happened in tests/e2e: the writer holds the last table of the TRUNCATE, the
flush waits for it, then the writer asks for the first table, which the flush holds."""

import re
import threading
import time

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.color import no_style
from django.core.management.sql import sql_flush
from django.db import connection

from tests.fixtures.live import test_database_url as database_url

pytestmark = pytest.mark.django_db(transaction=True)


def _flush_waiting_on(url: str, table: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as watcher:
        while time.monotonic() < deadline:
            waiting = watcher.execute(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = %s::regclass",
                [f'"{table}"']).fetchone()[0]
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError(f"the flush never waited for {table}")


def test_the_flush_outlasts_a_worker_that_deadlocks_with_it(create_user):
    create_user(roles=["editor"])
    truncate = sql_flush(no_style(), connection)[0]
    tables = re.findall(r'"([^"]+)"', truncate)
    first, last = tables[0], tables[-1]
    url = database_url()
    holding, outcome = threading.Event(), {}

    def worker() -> None:
        with psycopg.connect(url) as conn:  # a transaction, as a task or a heartbeat has
            conn.execute(f'SELECT 1 FROM "{last}" LIMIT 1')
            holding.set()
            _flush_waiting_on(url, last)
            try:
                conn.execute(f'SELECT 1 FROM "{first}" LIMIT 1')
                outcome["worker"] = "went on"
            except psycopg.errors.DeadlockDetected:
                outcome["worker"] = "aborted by the deadlock check"
            conn.rollback()

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        assert holding.wait(10)
        call_command("flush", interactive=False, verbosity=0)
    finally:
        thread.join(60)

    assert outcome["worker"] == "aborted by the deadlock check"
    assert get_user_model().objects.count() == 0  # the flush went through
