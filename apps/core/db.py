"""What a database error means for the code that met it."""

from __future__ import annotations

from django.db import DatabaseError, InterfaceError, OperationalError

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
