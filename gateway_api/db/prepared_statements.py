"""Statements compiled once for a dialect, with their columns' bind conversions, run without SQLAlchemy's per-row
parameter handling (the usage writer's records and rollups, the call log's bodies).

On SQLite a batch goes as multi-row ``INSERT ... VALUES (...), (...), ...`` statements rather than an executemany:
the driver runs an executemany one row per ``sqlite3_step`` and gives the GIL back and takes it again around every
step, so a batch of 2,000 rows cost 2,000 hand-overs with the event loop, which shares the core (bench/README.md,
issue 16). A statement of up to MAX_ROWS_PER_STATEMENT rows is one step. PostgreSQL's driver pipelines an
executemany already.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import chain
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.dml import Insert

MAX_ROWS_PER_STATEMENT = 256


class PreparedStatement:
    """A statement compiled once for a dialect, with its columns' bind conversions: executemany without
    SQLAlchemy's per-row parameter handling, which spent the GIL the event loop needs on per-row Python."""

    def __init__(
        self, dialect: Dialect, statement: Insert, table: Table, columns: tuple[str, ...], memoized: str = ""
    ) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(columns))
        self.columns = columns
        self.sql = compiled.string
        converters: dict[str, Callable[[Any], Any]] = {}
        for name in columns:
            convert = table.columns[name].type.dialect_impl(dialect).bind_processor(dialect)
            if convert is not None:
                # A column with few distinct values per batch (a rollup's bucket) converts each one once.
                converters[name] = functools.lru_cache(maxsize=256)(convert) if name == memoized else convert
        self._converters = list(converters.items())
        # qmark/numeric dialects (SQLite) take tuples in compiled order; named ones (psycopg) take dicts.
        positions = tuple(compiled.positiontup) if compiled.positiontup else None
        self._positional = positions is not None
        self._plan = [(name, converters.get(name)) for name in positions or columns]
        # For tuples in `columns` order: (index, converter) in compiled order, None when that order is `columns`
        # order (then only the converted columns are touched).
        index = {name: i for i, name in enumerate(columns)}
        tuple_plan = [(index[name], converters.get(name)) for name in positions or columns]
        in_order = [i for i, _ in tuple_plan] == list(range(len(columns)))
        self._tuple_plan: list[tuple[int, Callable[[Any], Any] | None]] | None = None if in_order else tuple_plan
        self._tuple_converters = [(index[name], convert) for name, convert in converters.items()]
        self._values_clause = _single_row_values(self.sql, len(columns)) if self._positional else None
        self._multirow_sql: dict[int, str] = {}
        self._rows_per_statement = 0  # known at the first execute (the SQLite library's variable limit)

    def execute(
        self, connection: Connection, parameters: Sequence[Sequence[Any]] | Sequence[Mapping[str, Any]]
    ) -> None:
        """Run the statement for each row of driver parameters (from `parameters` or `parameters_of_tuples`)."""
        if not parameters:
            return
        if self._values_clause is None or connection.dialect.name != "sqlite":
            connection.exec_driver_sql(self.sql, list(parameters))
            return
        rows = parameters
        if not self._rows_per_statement:
            self._rows_per_statement = _rows_per_statement(connection, len(self.columns))
        start = 0
        while start < len(rows):
            # Whole statements of the largest size, then the rest in powers of two: a handful of distinct statement
            # texts, which the driver's statement cache keeps prepared.
            left = len(rows) - start
            count = self._rows_per_statement if left >= self._rows_per_statement else 1 << (left.bit_length() - 1)
            chunk = rows[start : start + count]
            connection.exec_driver_sql(self._statement_of(count), tuple(chain.from_iterable(chunk)))
            start += count

    def _statement_of(self, rows: int) -> str:
        sql = self._multirow_sql.get(rows)
        if sql is None:
            assert self._values_clause is not None
            head, values, tail = self._values_clause
            sql = self._multirow_sql[rows] = head + ", ".join([values] * rows) + tail
        return sql

    def parameters(self, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Driver parameters from rows of column values by name."""
        if self._positional:
            plan = self._plan
            return [
                tuple([row[name] if convert is None else convert(row[name]) for name, convert in plan]) for row in rows
            ]
        if not self._converters:
            return list(rows)
        converted = [dict(row) for row in rows]
        for row in converted:
            for name, convert in self._converters:
                row[name] = convert(row[name])
        return converted

    def parameters_of_tuples(self, rows: Iterable[tuple[Any, ...]]) -> list[Any]:
        """Driver parameters from tuples of values in ``columns`` order, without building a dict per row for the
        positional dialects (the recorder's whole batches come this way)."""
        if not self._positional:
            return self.parameters([dict(zip(self.columns, row, strict=True)) for row in rows])
        if self._tuple_plan is not None:
            plan = self._tuple_plan
            return [tuple([row[i] if convert is None else convert(row[i]) for i, convert in plan]) for row in rows]
        if not self._tuple_converters:
            return list(rows)
        # Compiled order is `columns` order: convert only the few columns that need it, in place.
        converted = []
        for row in rows:
            values = list(row)
            for i, convert in self._tuple_converters:
                values[i] = convert(values[i])
            converted.append(tuple(values))
        return converted


def _single_row_values(sql: str, columns: int) -> tuple[str, str, str] | None:
    """The compiled INSERT split around its one VALUES row: (up to and with "VALUES ", the row, what follows, such
    as ON CONFLICT); None when it is not that shape."""
    head, found, rest = sql.partition(" VALUES ")
    row = "(" + ", ".join(["?"] * columns) + ")"
    if not found or not head.startswith("INSERT ") or not rest.startswith(row):
        return None
    return head + found, row, rest[len(row) :]


def _rows_per_statement(connection: Connection, columns: int) -> int:
    driver = connection.connection.driver_connection
    limit = driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) if isinstance(driver, sqlite3.Connection) else 999
    return max(1, min(MAX_ROWS_PER_STATEMENT, limit // columns))
