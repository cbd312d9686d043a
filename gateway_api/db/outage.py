"""Telling a database that cannot be reached from one that refuses what it is given."""

from __future__ import annotations

from sqlalchemy import exc as sa_exc


def is_transient(exc: BaseException) -> bool:
    """A failure to reach the database, as opposed to a refusal of the data."""
    if isinstance(exc, sa_exc.DBAPIError):
        return exc.connection_invalidated or isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)
    return isinstance(exc, sa_exc.TimeoutError | sa_exc.DisconnectionError | OSError | TimeoutError)
