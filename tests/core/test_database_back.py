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
    # (Whatever outage an earlier test of this process met is long past.)
    monkeypatch.setattr(db, "_pool_afresh_at", time.monotonic() - db.POOL_AFRESH_SPACING_S)
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


def test_threads_asking_for_the_pool_while_the_old_one_closes_get_the_new_one(monkeypatch):
    """A closing pool refuses every caller at once while it waits for its worker
    threads to stop, which after an outage can take seconds (made one second long here,
    around psycopg_pool's own close): meanwhile the other threads of the process must
    be given the new pool, not the closing one."""
    import threading

    from psycopg_pool import ConnectionPool

    old = _pool()
    real_close = ConnectionPool.close
    closing = threading.Event()

    def slow_close(pool, *args, **kwargs):
        real_close(pool, *args, **kwargs)  # marked closed first, as psycopg_pool does
        closing.set()
        time.sleep(1.0)

    monkeypatch.setattr(ConnectionPool, "close", slow_close)
    monkeypatch.setattr(db, "_pool_afresh_at", time.monotonic() - db.POOL_AFRESH_SPACING_S)
    afresh = threading.Thread(target=db.database_back,
                              kwargs={"deadline": time.monotonic() + 10})
    afresh.start()
    try:
        assert closing.wait(10)
        assert old.closed
        assert Run.objects.count() >= 0  # a query meanwhile, from this thread
        assert connection.pool is not old
        assert not connection.pool.closed
    finally:
        afresh.join()
        connection.close()


def test_a_thread_whose_connection_was_cut_queries_again_once_the_database_is_back(monkeypatch):
    """PostgreSQL ended this thread's connection (a restart) between two statements of
    a task: once the database answers, the thread's next statement must run on a new
    connection. Before, the task's tries all went to the dead connection, failed within
    milliseconds, and the node was left to another worker, which waited out its lease."""
    monkeypatch.setattr(db, "_pool_afresh_at", time.monotonic() - db.POOL_AFRESH_SPACING_S)
    Run.objects.exists()  # this thread holds a connection, outside any transaction
    # The pool is started afresh (the first thread back from this outage); then, with
    # the pool left as it is (another thread of the process just started it afresh),
    # the same holds.
    for _outage in ("pool started afresh", "pool kept"):
        _server_ends_this_threads_connection_then_the_thread_waits_for_the_database()


def _server_ends_this_threads_connection_then_the_thread_waits_for_the_database():
    import psycopg
    from django.db import OperationalError

    backend = connection.connection.info.backend_pid
    params = connection.get_connection_params()
    keys = ("dbname", "user", "password", "host", "port")
    with psycopg.connect(**{k: params[k] for k in keys if params.get(k)}, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [backend])
    with pytest.raises(OperationalError):
        Run.objects.exists()
    assert db.database_back(deadline=time.monotonic() + 10)
    assert Run.objects.exists() in (True, False)
    assert connection.connection.info.backend_pid != backend
