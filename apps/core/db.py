"""What a database error means for the code that met it, and waiting for the
database to come back."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection

# SQLSTATE classes worth trying again: the connection (08), the server shutting down or
# restarting (57P), resources (53), and a serialization failure or deadlock (40).
_TRANSIENT_CLASSES = ("08", "57P", "53", "40")


def db_error_is_transient(exc: BaseException) -> bool:
    """True when the same statement may succeed later (the database went away, was
    busy, or chose this transaction as a deadlock victim); False when PostgreSQL
    refused the data itself (a NUL character in text, a value over its limits), which
    no number of retries will change."""
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, DatabaseError):
        return False
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    if sqlstate:
        return sqlstate.startswith(_TRANSIENT_CLASSES)
    # No answer from the server: a lost connection is an OperationalError; a value the
    # driver itself refuses (a NUL in text) is a DataError.
    return isinstance(exc, OperationalError)


def _database_answers() -> bool:
    """Whether PostgreSQL takes a new connection now (one attempt, a second at most,
    outside the pool)."""
    import psycopg

    params = connection.get_connection_params()
    keys = ("dbname", "user", "password", "host", "port", "sslmode")
    try:
        psycopg.connect(**{k: params[k] for k in keys if params.get(k) not in (None, "")},
                        connect_timeout=1).close()
    except psycopg.Error:
        return False
    return True


# A process starts its pool afresh at most once in this long: the threads that met the
# outage each come here, and those that took the old pool as it was being replaced
# fail once more ("the pool ... is closed"). Closing the new one for them would fail
# the threads already using it, and so on.
POOL_AFRESH_SPACING_S = 2.0
_pool_lock = threading.Lock()
_pool_afresh_at = float("-inf")


def database_back(*, deadline: float) -> bool:
    """Wait until PostgreSQL answers again (looking every 0.2 s), then start this
    process's connection pool afresh (once for all its threads: POOL_AFRESH_SPACING_S):
    the old one holds broken connections and waits between its own reconnection
    attempts (1, 2, 4, 8 s...). The calling thread's own connection is let go first:
    one the server ended outside a transaction stays in Django's hands, and every
    later statement of the thread would fail on it at once. False at the deadline."""
    with suppress(DatabaseError):  # a broken connection: letting it go is tidying
        connection.close()
    while not _database_answers():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    _pool_afresh()
    return True


def _pool_afresh() -> None:
    global _pool_afresh_at
    if not connection.settings_dict["OPTIONS"].get("pool"):
        return
    with _pool_lock:
        if time.monotonic() - _pool_afresh_at < POOL_AFRESH_SPACING_S:
            return  # started afresh a moment ago, by another thread of this process
        _pool_afresh_at = time.monotonic()
        # Out of Django's registry of pools first, then closed. Django's close_pool() does
        # it the other way round, and a closing pool refuses every caller at once while it
        # waits for its workers to stop (seconds after an outage): a task back from the
        # outage then spent all its tries on "the pool ... is closed" in milliseconds and
        # went to another worker, which found the node held and waited out its lease.
        old = connection._connection_pools.pop(connection.alias, None)  # noqa: SLF001
        if old is not None:
            with suppress(Exception):  # its connections are broken already: closing is tidying
                old.close()


class _PreparedCursor:
    """The few methods the engine's statements use, on a cursor that binds values on
    the server and has psycopg prepare each statement on its connection: PostgreSQL plans
    it once per connection, not on every run. Django's own cursors bind on the client
    (nothing prepared): a list page's filter keeps a plan made for its own values (a
    generic plan made one runs page filter three times slower). Not Django's cursor
    wrapper around this cursor: its debug log cannot recover a prepared statement's
    text (it logs None), and the tests that count a run's statements read that log."""

    def __init__(self, raw: Any) -> None:
        import psycopg

        self.cursor = psycopg.Cursor(raw)

    def execute(self, sql: str, params: Any = None) -> None:
        connection.validate_no_broken_transaction()
        started = time.monotonic()
        with connection.wrap_database_errors:
            self.cursor.execute(sql, params, prepare=True)
        if connection.queries_logged:  # as Django's debug cursor logs (tests count them)
            connection.queries_log.append(
                {"sql": sql, "time": f"{time.monotonic() - started:.3f}"})

    def fetchone(self) -> Any:
        with connection.wrap_database_errors:
            return self.cursor.fetchone()

    def fetchall(self) -> list[Any]:
        with connection.wrap_database_errors:
            return self.cursor.fetchall()

    @property
    def rowcount(self) -> int:
        return self.cursor.rowcount


@contextmanager
def prepared_cursor() -> Iterator[Any]:
    """A cursor for the engine's own statements, which run on every node with the same
    text (primary keys and compare-and-set: a plan made once fits every value): prepared
    on the connection when WEFT_DB_PREPARE is on (the default), else Django's cursor."""
    if not settings.WEFT_DB_PREPARE:
        with connection.cursor() as cursor:
            yield cursor
        return
    # What Django's connection.cursor() checks first, without making its own cursor.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        prepared = _PreparedCursor(connection.connection)
    try:
        yield prepared
    finally:
        prepared.cursor.close()
