"""REST calls that need the database while it cannot be reached answer 503 with a clear message, never 500.

Only failures to reach the database are answered so (connection refused or lost, pool exhausted, SQLite busy,
as db/outage.py sorts them); any other database error is a bug and stays a logged 500.
"""

from __future__ import annotations

import logging

from fastapi import Request, status
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc

from gateway_api.db.outage import is_transient

log = logging.getLogger("gateway.api")

DATABASE_UNAVAILABLE = "the database is unavailable; try again shortly"
RETRY_AFTER_SECONDS = "5"
# Registered for these classes; the handler sorts out what is an outage.
HANDLED: tuple[type[Exception], ...] = (sa_exc.DBAPIError, sa_exc.TimeoutError, sa_exc.DisconnectionError)


async def database_error_handler(request: Request, exc: Exception) -> JSONResponse:
    if is_transient(exc):
        log.warning("database unavailable for %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return JSONResponse(
            {"detail": DATABASE_UNAVAILABLE},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"retry-after": RETRY_AFTER_SECONDS},
        )
    log.error("database error for %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "internal error"}, status_code=status.HTTP_500_INTERNAL_SERVER_ERROR)
