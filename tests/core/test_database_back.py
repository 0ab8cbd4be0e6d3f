"""After PostgreSQL comes back, a process starts its connection pool afresh once for
all the threads that met the outage, against the real PostgreSQL."""

import time

import pytest
from django.db import connection

from apps.core import db
from apps.runs.models import Run

pytestmark = pytest.mark.django_db(transaction=True)


def _pool():
    Run.objects.exists()  # a query: the pool in use
    connection.close()  # (back to the pool)
    return connection.pool


def test_threads_back_from_one_outage_start_the_pool_afresh_once(monkeypatch):
    if not connection.settings_dict["OPTIONS"].get("pool"):
        pytest.fail("these tests need the connection pool (WEFT_DB_POOL)")
    old = _pool()
    assert db.database_back(deadline=time.monotonic() + 10)
    fresh = _pool()
    assert fresh is not old
    assert old.closed
    # Another thread back from the same outage (one that took the old pool as it was
    # replaced): the new pool, already in use, stays (before: closed under its users).
    assert db.database_back(deadline=time.monotonic() + 10)
    assert _pool() is fresh
    assert not fresh.closed
    # A later outage starts it afresh again.
    monkeypatch.setattr(db, "_pool_afresh_at", time.monotonic() - db.POOL_AFRESH_SPACING_S)
    assert db.database_back(deadline=time.monotonic() + 10)
    assert fresh.closed
    assert _pool() is not fresh
