"""Prepared statements run a batch as multi-row INSERTs on SQLite (one step per chunk, not one per row) and as one
executemany on PostgreSQL; every row arrives as given, conflicts and errors behave as a plain executemany's."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from gateway_api.db.models import CallBody
from gateway_api.db.prepared_statements import MAX_ROWS_PER_STATEMENT, PreparedStatement

T0 = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)
TABLE: Table = CallBody.__table__  # type: ignore[attr-defined]
COLUMNS = ("call_id", "created_at", "sealed")


def _statement(engine: Engine) -> PreparedStatement:
    dialect_insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    insert = dialect_insert(TABLE).on_conflict_do_nothing(index_elements=["call_id"])
    return PreparedStatement(engine.dialect, insert, TABLE, COLUMNS)


def _rows(count: int, prefix: str = "call") -> list[tuple[str, datetime, bytes]]:
    # Bytes that are not text (a NUL, 0xff), and times a microsecond apart: both must come back exactly.
    return [(f"{prefix}-{i:05d}", T0 + timedelta(microseconds=i), bytes([i % 256, 0, 255])) for i in range(count)]


def _stored(engine: Engine) -> list[tuple[str, datetime, bytes]]:
    with Session(engine) as session:
        found = session.exec(select(CallBody).order_by(col(CallBody.call_id))).all()
        return [(row.call_id, row.created_at.astimezone(UTC), row.sealed) for row in found]


@pytest.fixture
def statements_run(engine: Engine) -> Iterator[list[tuple[str, bool]]]:
    """The statements the driver was given: (SQL, executemany?)."""
    seen: list[tuple[str, bool]] = []

    def record(_conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, executemany: bool) -> None:
        if statement.startswith("INSERT INTO callbody"):
            seen.append((statement, executemany))

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


@pytest.mark.parametrize("count", [1, 2, 255, 256, 257, 1000])
def test_every_row_is_stored_as_given(engine: Engine, count: int) -> None:
    prepared = _statement(engine)
    rows = _rows(count)
    with engine.begin() as connection:
        prepared.execute(connection, prepared.parameters_of_tuples(rows))
    assert _stored(engine) == rows


def test_sqlite_gets_a_few_multi_row_statements_postgres_one_executemany(
    engine: Engine, statements_run: list[tuple[str, bool]]
) -> None:
    prepared = _statement(engine)
    with engine.begin() as connection:
        prepared.execute(connection, prepared.parameters_of_tuples(_rows(1000)))
    if engine.dialect.name == "postgresql":
        assert [many for _, many in statements_run] == [True]
        return
    # 1000 = 3 x 256 + 128 + 64 + 32 + 8: seven statements of five distinct texts, none an executemany.
    rows_per_statement = [sql.count("(?, ?, ?)") for sql, _ in statements_run]
    assert rows_per_statement == [MAX_ROWS_PER_STATEMENT] * 3 + [128, 64, 32, 8]
    assert not any(many for _, many in statements_run)
    assert all(sql.endswith("ON CONFLICT (call_id) DO NOTHING") for sql, _ in statements_run)


def test_conflicting_rows_are_skipped_inside_a_multi_row_statement(engine: Engine) -> None:
    prepared = _statement(engine)
    first = _rows(300, "a")
    with engine.begin() as connection:
        prepared.execute(connection, prepared.parameters_of_tuples(first))
    # Half of these clash with stored rows (other contents): the stored ones stay, the new ones are added.
    clashing = [(call_id, T0 - timedelta(days=1), b"other") for call_id, _, _ in first[::2]]
    new = _rows(10, "b")
    with engine.begin() as connection:
        prepared.execute(connection, prepared.parameters_of_tuples(clashing + new))
    assert _stored(engine) == first + new


def test_a_refused_row_fails_the_whole_batch_as_a_wrapped_database_error(engine: Engine) -> None:
    """The usage writer bisects a refused batch (usage/batch_writes.py): it must see SQLAlchemy's error, and no
    part of the batch may stay written."""
    prepared = _statement(engine)
    rows: list[tuple[Any, ...]] = [*_rows(400)]
    rows[333] = (None, T0, b"x")  # the primary key cannot be NULL
    with pytest.raises(IntegrityError), engine.begin() as connection:
        prepared.execute(connection, prepared.parameters_of_tuples(rows))
    assert _stored(engine) == []


def test_a_sqlite_library_with_a_low_variable_limit_gets_smaller_statements(
    engine: Engine, statements_run: list[tuple[str, bool]]
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's limit on bound variables")
    prepared = _statement(engine)
    rows = _rows(100)
    with engine.begin() as connection:
        driver = connection.connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        previous = driver.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 99)  # 33 rows of 3 columns
        try:
            prepared.execute(connection, prepared.parameters_of_tuples(rows))
        finally:
            driver.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, previous)
    assert [sql.count("(?, ?, ?)") for sql, _ in statements_run] == [33, 33, 33, 1]
    assert _stored(engine) == rows
