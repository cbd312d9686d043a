"""The one way usage records are inserted: the records, and the batch's sums added to the four rollups, in the
caller's transaction.

A batch is grouped here by rollup key and each rollup gets one executemany of an upsert, with as many rows as the
batch has distinct keys (a handful for proxy traffic), instead of per-record trigger work. Deleting or updating
records goes through migration 0004's triggers. An INSERT into ``usagerecord`` that bypasses this module leaves the
rollups short.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, cast

from sqlalchemy import Connection, Table, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.dml import Insert
from sqlmodel import SQLModel

from gateway_api.db.models import UsageDaily, UsageHourly, UsageModelDaily, UsageModelHourly, UsageRecord
from gateway_api.db.prepared_statements import PreparedStatement
from gateway_api.usage.rows import UsageRow
from gateway_api.usage.tokens import TOKEN_FIELDS


def _table(model: type[SQLModel]) -> Table:
    table: Table = model.__table__  # type: ignore[attr-defined]  # SQLModel sets it but does not declare it
    return table


RECORDS = _table(UsageRecord)
KEY_COLUMNS = ("bucket_start", "user_id", "api_key_id", "provider", "model", "outcome")
MODEL_KEY_COLUMNS = ("bucket_start", "provider", "model", "outcome")
SUM_COLUMNS = (*TOKEN_FIELDS, "cost_usd")
# Every rollup with its key, in a fixed order, so concurrent writers lock shared rollup rows in one order (no
# deadlock); the groups of _rollups() come in the same order.
ROLLUPS: tuple[tuple[Table, tuple[str, ...]], ...] = (
    (_table(UsageHourly), KEY_COLUMNS),
    (_table(UsageDaily), KEY_COLUMNS),
    (_table(UsageModelHourly), MODEL_KEY_COLUMNS),
    (_table(UsageModelDaily), MODEL_KEY_COLUMNS),
)
DialectInsert = sqlite.Insert | postgresql.Insert
UPSERTS: dict[str, Callable[[Table], DialectInsert]] = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
# The record columns with a Python-side default (ColumnDefault), filled in for rows that omit them.
DEFAULTS: dict[str, Any] = {column.name: column.default for column in RECORDS.columns if column.default is not None}
# The call log's columns (migration 0010), all nullable text.
CALL_LOG_COLUMNS = ("path", "method", "reasoning_effort", "refusal_reason", "client_address", "key_prefix")
# A usage record's columns (all but its id) in the order the recorder's rows are written, and how to read them off a
# UsageRow in one C-level call (its tokens sit in a nested TokenUsage).
RECORD_COLUMNS = (
    "created_at", "user_id", "api_key_id", "provider", "provider_kind", "model", "endpoint", "streamed",
    *TOKEN_FIELDS,
    "cost_usd", "status_code", "outcome", "latency_ms", "ttfb_ms", "client", "session_id", "request_id", "call_id",
    "usage_estimated", *CALL_LOG_COLUMNS,
)  # fmt: skip
_record_values = attrgetter(*(f"tokens.{name}" if name in TOKEN_FIELDS else name for name in RECORD_COLUMNS))
# What the rollups group and sum, in the order _hourly() reads it.
_GROUPED = ("created_at", "user_id", "api_key_id", "provider", "model", "outcome", *SUM_COLUMNS)
_grouped_values = attrgetter(*(f"tokens.{name}" if name in TOKEN_FIELDS else name for name in _GROUPED))

# Groups of the batch: (hour number, user_id, api_key_id, provider, model, outcome) or (hour number, provider,
# model, outcome) -> [requests, *SUM_COLUMNS]. An hour number counts UTC hours from 0001-01-01 (a day's bucket is
# its first hour): cheaper per record than datetime.replace and hashing aware datetimes.
Groups = dict[tuple[Any, ...], list[Any]]


class UsageStatements:
    """The record INSERT (per column set) and the four rollup upserts, compiled once per dialect; the usage
    recorder keeps one for its engine."""

    def __init__(self, dialect: Dialect) -> None:
        if dialect.name not in UPSERTS:
            raise ValueError(f"usage rollups need INSERT ... ON CONFLICT, not available on {dialect.name}")
        self._dialect = dialect
        self._inserts: dict[tuple[str, ...], PreparedStatement] = {}
        self.upserts = tuple(
            PreparedStatement(
                dialect, _upsert(UPSERTS[dialect.name], table, keys), table, _columns(table, keys), "bucket_start"
            )
            for table, keys in ROLLUPS
        )

    def insert(self, columns: tuple[str, ...]) -> PreparedStatement:
        prepared = self._inserts.get(columns)
        if prepared is None:
            prepared = self._inserts[columns] = PreparedStatement(self._dialect, insert(RECORDS), RECORDS, columns)
        return prepared


def column_values(row: UsageRow) -> dict[str, Any]:
    """The usage record's column values (all but its id) of a finished call's row."""
    return dict(zip(RECORD_COLUMNS, _record_values(row), strict=True))


def insert_usage_records(
    connection: Connection,
    rows: Sequence[UsageRow] | Sequence[Mapping[str, Any]],
    statements: UsageStatements | None = None,
) -> None:
    """Insert usage records, from UsageRows or from column values (omitted columns take the model's defaults),
    and add their sums to the hourly and daily rollups, all in ``connection``'s transaction. ``statements``
    compiled for the connection's dialect saves compiling them again (the recorder keeps one)."""
    if not rows:
        return
    if statements is None:
        statements = UsageStatements(connection.dialect)
    grouped: list[tuple[Any, ...]]
    if isinstance(rows[0], UsageRow):
        usage_rows = cast(Sequence[UsageRow], rows)
        prepared = statements.insert(RECORD_COLUMNS)
        prepared.execute(connection, prepared.parameters_of_tuples(map(_record_values, usage_rows)))
        grouped = [_grouped_values(row) for row in usage_rows]
    else:
        records = _with_defaults(cast(Sequence[Mapping[str, Any]], rows))
        prepared = statements.insert(tuple(records[0]))
        prepared.execute(connection, prepared.parameters(records))
        grouped = [tuple(row.get(name) for name in _GROUPED) for row in records]
    for upsert, groups in zip(statements.upserts, _rollups(_hourly(grouped)), strict=True):
        upsert.execute(connection, upsert.parameters_of_tuples(_as_rows(groups)))


def _columns(table: Table, keys: tuple[str, ...]) -> tuple[str, ...]:
    """The upsert's columns in the order _as_rows() gives the values (checked against the model)."""
    columns = (*keys, "requests", *SUM_COLUMNS)
    if set(columns) != set(table.columns.keys()) or set(keys) != set(table.primary_key.columns.keys()):
        raise RuntimeError(f"{table.name} no longer has the rollup columns the usage writer fills")
    return columns


def _upsert(dialect_insert: Callable[[Table], DialectInsert], table: Table, keys: tuple[str, ...]) -> Insert:
    statement = dialect_insert(table)
    added = {name: table.c[name] + statement.excluded[name] for name in ("requests", *SUM_COLUMNS)}
    return statement.on_conflict_do_update(index_elements=list(keys), set_=added)


def _with_defaults(rows: Sequence[Mapping[str, Any]]) -> Sequence[Mapping[str, Any]]:
    """The rows as given when complete (the recorder's always are), else every row with every column the batch
    names plus the defaulted ones, so the INSERT and the rollups see the same values."""
    first = rows[0]
    width = len(first)
    if all(name in first for name in DEFAULTS) and all(len(row) == width for row in rows):
        return rows
    names = list(dict.fromkeys(name for row in rows for name in row))
    names += [name for name in DEFAULTS if name not in names]
    completed = []
    for row in rows:
        values = {}
        for name in names:
            if name in row:
                values[name] = row[name]
            elif name in DEFAULTS:
                default = DEFAULTS[name]
                values[name] = default.arg(None) if default.is_callable else default.arg
            else:
                values[name] = None
        completed.append(values)
    return completed


def _hourly(rows: Iterable[tuple[Any, ...]]) -> Groups:
    """The batch's sums per UTC hour and (user, key, provider, model, outcome), from tuples in _GROUPED order; no
    user or key counts as 0, as the rollups store it (key columns cannot be NULL, or equal keys would not conflict)."""
    groups: Groups = {}
    for created, user_id, key_id, provider, model, outcome, *sums_of_row in rows:
        if created.tzinfo is not UTC:
            created = created.astimezone(UTC)
        key = (created.toordinal() * 24 + created.hour, user_id or 0, key_id or 0, provider, model, outcome)
        sums = groups.get(key)
        if sums is None:
            groups[key] = [1, *sums_of_row]
        else:
            sums[0] += 1
            for index, value in enumerate(sums_of_row, 1):
                sums[index] += value
    return groups


def _rollups(hourly: Groups) -> tuple[Groups, Groups, Groups, Groups]:
    """The hourly groups, and the daily and per-model ones summed from them (far fewer than the records)."""
    daily: Groups = {}
    model_hourly: Groups = {}
    model_daily: Groups = {}
    for (hour, user_id, api_key_id, provider, model, outcome), sums in hourly.items():
        day = hour - hour % 24
        _add(daily, (day, user_id, api_key_id, provider, model, outcome), sums)
        _add(model_hourly, (hour, provider, model, outcome), sums)
        _add(model_daily, (day, provider, model, outcome), sums)
    return hourly, daily, model_hourly, model_daily


def _add(groups: Groups, key: tuple[Any, ...], sums: list[Any]) -> None:
    total = groups.get(key)
    if total is None:
        groups[key] = sums.copy()
    else:
        for index, value in enumerate(sums):
            total[index] += value


def _as_rows(groups: Groups) -> list[tuple[Any, ...]]:
    """One tuple per group in the upsert's column order: the bucket as an aware UTC datetime, the outcome as plain
    text (the records' enum values are what the rollups hold); sorted, so that concurrent writers upsert shared
    rollup rows in one order."""
    buckets: dict[int, datetime] = {}
    rows = []
    for (hour, *key, outcome), sums in sorted(groups.items()):
        bucket = buckets.get(hour)
        if bucket is None:
            bucket = buckets[hour] = datetime.fromordinal(hour // 24).replace(hour=hour % 24, tzinfo=UTC)
        rows.append((bucket, *key, str(outcome), *sums))
    return rows
