"""A batch of usage rows written whole, or split until the rows the database refuses are isolated: those go to the
``usagedeadletter`` table with the database's reason, every other row is written.

Only a refusal of the data (a value out of range, a string too long, a constraint) is isolated; a failure to reach
the database (connection refused or lost, pool exhausted, SQLite busy) says nothing about the rows, so it stops the
write and the caller keeps the unwritten rows to retry them. Bisection costs about 2 * log2(batch) extra
transactions per bad row, and only when a batch was refused.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, bindparam, insert, select, update
from sqlalchemy import exc as sa_exc
from sqlmodel import col

from gateway_api.db.models import ApiKey, UsageDeadLetter
from gateway_api.db.outage import is_transient
from gateway_api.usage.rows import UsageRow
from gateway_api.usage.writer import RECORDS, UsageStatements, column_values, insert_usage_records

log = logging.getLogger("gateway.usage")

MAX_REASON_CHARS = 1000
LAST_USED = update(ApiKey).where(col(ApiKey.id) == bindparam("key_id")).values(last_used_at=bindparam("used_at"))
# PostgreSQL takes up to 65535 bind parameters in one statement; replay batches stay far below.
_EXISTING_IDS_CHUNK = 1000


@dataclass(slots=True)
class Settled:
    """How a batch went: its first ``done`` rows are settled (written, or dead-lettered: ``dead`` of them); when
    ``error`` is set the database could not be reached and the rows from ``done`` on are still to be written."""

    done: int
    dead: int = 0
    skipped: int = 0  # rows whose call id the database already had (a replay)
    error: Exception | None = None


def reason_of(exc: BaseException) -> str:
    """The database's own message, without SQLAlchemy's echo of the statement and its parameters."""
    original = exc.orig if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None else exc
    first_line = (str(original).strip().splitlines() or [""])[0]
    return f"{type(original).__name__}: {first_line}"[:MAX_REASON_CHARS]


class BatchWriter:
    """Writes batches for one engine (the usage recorder's and the spool replay's)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._statements: UsageStatements | None = None

    def settle(self, rows: Sequence[UsageRow], skip_existing: bool = False) -> Settled:
        """Write ``rows`` (in a worker thread): whole when the database takes them, else bisected. With
        ``skip_existing`` rows whose call id is already stored are left out (a replay writes each call once)."""
        try:
            skipped = self._write(rows, skip_existing)
        except Exception as exc:  # noqa: BLE001 - sorted below: unreachable database or refused data
            if is_transient(exc):
                return Settled(0, error=exc)
            if len(rows) == 1:
                return self._dead_letter(rows[0], exc)
            middle = len(rows) // 2
            first = self.settle(rows[:middle], skip_existing)
            if first.error is not None:
                return first
            second = self.settle(rows[middle:], skip_existing)
            return Settled(
                first.done + second.done, first.dead + second.dead, first.skipped + second.skipped, second.error
            )
        return Settled(len(rows), skipped=skipped)

    def _write(self, rows: Sequence[UsageRow], skip_existing: bool) -> int:
        """One transaction: the records and their rollup sums, then the keys' last use; the rows skipped."""
        if self._statements is None:
            self._statements = UsageStatements(self._engine.dialect)
        with self._engine.begin() as connection:
            skipped = 0
            if skip_existing:
                fresh = _not_yet_stored(connection, rows)
                skipped = len(rows) - len(fresh)
                rows = fresh
            if not rows:
                return skipped
            insert_usage_records(connection, rows, self._statements)
            last_used: dict[int, datetime] = {}
            for row in rows:
                key_id = row.api_key_id
                if key_id is not None:
                    last_used[key_id] = max(row.created_at, last_used.get(key_id, row.created_at))
            # One executemany (a batch spread over many keys paid a statement round per key), in key order as the
            # rollup upserts, so concurrent writers take row locks in one order.
            if last_used:
                connection.execute(
                    LAST_USED, [{"key_id": key_id, "used_at": when} for key_id, when in sorted(last_used.items())]
                )
        return skipped

    def _dead_letter(self, row: UsageRow, refusal: Exception) -> Settled:
        reason = reason_of(refusal)
        values = json.dumps(column_values(row), default=str)
        try:
            with self._engine.begin() as connection:
                connection.execute(
                    insert(UsageDeadLetter),
                    {"created_at": row.created_at, "call_id": _short_id(row.call_id), "reason": reason, "row": values},
                )
        except Exception as exc:  # noqa: BLE001 - the dead letter could not be stored: keep the row, retry later
            return Settled(0, error=exc)
        log.error("usage row %s refused by the database, kept as a dead letter: %s", row.call_id, reason)
        return Settled(1, dead=1)


def _not_yet_stored(connection: Connection, rows: Sequence[UsageRow]) -> list[UsageRow]:
    ids = [row.call_id for row in rows if row.call_id is not None]
    stored: set[str] = set()
    for start in range(0, len(ids), _EXISTING_IDS_CHUNK):
        chunk = ids[start : start + _EXISTING_IDS_CHUNK]
        query = select(RECORDS.c.call_id).where(RECORDS.c.call_id.in_(chunk))
        stored.update(connection.execute(query).scalars())
    # A call id twice in the rows themselves (a spool with the same row twice) is written once too.
    fresh = []
    for row in rows:
        if row.call_id is None or row.call_id not in stored:
            fresh.append(row)
            if row.call_id is not None:
                stored.add(row.call_id)
    return fresh


def _short_id(call_id: str | None) -> str | None:
    return call_id[:64] if call_id else call_id
