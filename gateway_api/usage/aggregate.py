"""Usage sums per group (time bucket and/or user, key, model, provider) for a filter, read span by span.

Each span of the range (see spans.py) is one grouped query on the raw records or a rollup; the partial sums
are added here. The rollups hold far fewer rows than the records, so a month costs a scan of the daily rollup
plus a few hours of raw rows, whatever the record count.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Literal

from sqlalchemy import BigInteger, ColumnElement, DateTime, String, case, cast, func, literal, or_, type_coerce
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, select

from gateway_api.db.models import UsageDaily, UsageHourly, UsageModelDaily, UsageModelHourly, UsageRecord
from gateway_api.usage.filters import NO_ID, UsageFilter, UsageTable, per_key, time_column
from gateway_api.usage.spans import Span, plan_spans

Bucket = Literal["hour", "day"]
Dimension = Literal["user", "key", "model", "provider", "outcome"]
SumField = Literal[
    "requests", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens",
    "cost_usd",
]  # fmt: skip
PER_KEY_TABLES: dict[str, UsageTable] = {"raw": UsageRecord, "hourly": UsageHourly, "daily": UsageDaily}
PER_MODEL_TABLES: dict[str, UsageTable] = {"raw": UsageRecord, "hourly": UsageModelHourly, "daily": UsageModelDaily}
HOURLY_TABLES = (UsageHourly, UsageModelHourly)
DAILY_TABLES = (UsageDaily, UsageModelDaily)
DIMENSION_COLUMNS = {
    "user": "user_id", "key": "api_key_id", "model": "model", "provider": "provider", "outcome": "outcome",
}  # fmt: skip
SQLITE_BUCKET_FORMATS = {"hour": "%Y-%m-%d %H:00:00", "day": "%Y-%m-%d 00:00:00"}


def as_utc(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _bucket_expression(session: Session, table: UsageTable, bucket: Bucket) -> ColumnElement[Any]:
    postgres = session.get_bind().dialect.name == "postgresql"
    if table in DAILY_TABLES or (table in HOURLY_TABLES and bucket == "hour"):
        # Already the bucket; read as the driver returns it (parsed once per distinct value by the caller).
        return type_coerce(col(table.bucket_start), DateTime(timezone=True) if postgres else String())
    moment = time_column(table)
    if postgres:
        return func.date_trunc(bucket, func.timezone("UTC", moment))
    return func.strftime(SQLITE_BUCKET_FORMATS[bucket], moment)


def _sum_expression(table: UsageTable, field: SumField) -> ColumnElement[Any]:
    if table is UsageRecord and field == "requests":
        return func.count()
    if field == "cost_usd":
        return func.sum(getattr(table, field))
    # PostgreSQL's sum of BIGINT is NUMERIC (a Decimal per value in Python, slow to add); the totals fit BIGINT.
    return cast(func.sum(getattr(table, field)), BigInteger)


def _spans(usage_filter: UsageFilter, bucket: Bucket | None) -> list[Span]:
    return plan_spans(usage_filter.start, usage_filter.end, days_allowed=bucket != "hour")


def _tables(usage_filter: UsageFilter, dimensions: Sequence[Dimension]) -> dict[str, UsageTable]:
    """The per-model rollups (a few rows per hour) unless the query filters or groups by user or key."""
    per_key = usage_filter.user_ids or usage_filter.api_key_ids or {"user", "key"} & set(dimensions)
    return PER_KEY_TABLES if per_key else PER_MODEL_TABLES


def grouped_sums(
    session: Session,
    usage_filter: UsageFilter,
    fields: Sequence[SumField],
    dimensions: Sequence[Dimension] = (),
    bucket: Bucket | None = None,
) -> dict[tuple[Any, ...], list[Any]]:
    """{(bucket start if bucketed, *dimension values): [sum of each field]} for the groups with records.

    A missing user or key is None, as in the records. Groups can number tens of thousands (hours x keys), so
    the loop below is kept lean: bucket values are parsed once each, ids mapped only when a 0 is present.
    """
    groups: dict[tuple[Any, ...], list[Any]] = {}
    converters = [float if f == "cost_usd" else int for f in fields]
    moments: dict[Any, datetime] = {}
    tables = _tables(usage_filter, dimensions)
    for span in _spans(usage_filter, bucket):
        table = tables[span.source]
        rollup = table is not UsageRecord
        hidden, columns = _dimension_columns(table, dimensions)
        if bucket is not None:
            columns.insert(0, _bucket_expression(session, table, bucket))
        query = select(*columns, *(_sum_expression(table, f) for f in fields)).where(
            *usage_filter.conditions_within(table, span.lower, span.upper)
        )
        width = len(columns)
        for row in session.execute(query.group_by(*columns) if columns else query):
            if bucket is None:
                key = tuple(row[hidden:width])
            else:
                moment = moments.get(row[0])
                if moment is None:
                    moment = moments[row[0]] = as_utc(row[0])
                key = (moment, *row[1 + hidden : width])
            if rollup and NO_ID in key:
                key = _without_no_id(key, bucket is not None, dimensions)
            sums = [convert(value or 0) for convert, value in zip(converters, row[width:], strict=True)]
            known = groups.get(key)
            groups[key] = sums if known is None else [a + b for a, b in zip(known, sums, strict=True)]
    return groups


def _dimension_columns(table: UsageTable, dimensions: Sequence[Dimension]) -> tuple[int, list[Any]]:
    """The group columns for `dimensions`, after `hidden` leading ones grouped on but left out of the key.

    Rollups are stored in (bucket, user, key, ...) order and a key has one user: grouping a rollup by key and its
    user follows the stored order (no sort of every row) and yields the same groups.
    """
    columns = [col(getattr(table, DIMENSION_COLUMNS[d])) for d in dimensions]
    if table is not UsageRecord and tuple(dimensions) == ("key",):
        return 1, [col(per_key(table).user_id), *columns]
    return 0, columns


def _without_no_id(key: tuple[Any, ...], bucketed: bool, dimensions: Sequence[Dimension]) -> tuple[Any, ...]:
    values = list(key)
    for position, dimension in enumerate(dimensions, start=1 if bucketed else 0):
        if dimension in ("user", "key") and values[position] == NO_ID:
            values[position] = None
    return tuple(values)


class Fold(Enum):
    """The group key of everything a folded series does not keep."""

    OTHER = "other"


def folded_series(
    session: Session,
    usage_filter: UsageFilter,
    fields: Sequence[SumField],
    dimension: Dimension,
    bucket: Bucket,
    kept: Collection[Any],
) -> dict[tuple[Any, ...], list[Any]]:
    """Like grouped_sums by (bucket, dimension), with every value outside `kept` summed under Fold.OTHER.

    The folding happens in SQL, so a chart of the 10 largest of 600 keys over 168 hours returns ~1,800 groups to
    Python instead of ~100,000. It folds the per-(bucket, value) sums of an inner query grouped in the rollups'
    stored order, which SQLite streams; folding the rows directly would make it sort every row.
    """
    groups: dict[tuple[Any, ...], list[Any]] = {}
    converters = [float if f == "cost_usd" else int for f in fields]
    moments: dict[Any, datetime] = {}
    tables = _tables(usage_filter, (dimension,))
    sqlite = session.get_bind().dialect.name == "sqlite"
    for span in _spans(usage_filter, bucket):
        table = tables[span.source]
        rollup = table is not UsageRecord
        _, dimension_columns = _dimension_columns(table, (dimension,))
        bucket_column = _bucket_expression(session, table, bucket).label("bucket")
        if sqlite:  # per-(bucket, value) sums first; PostgreSQL hashes the groups and is faster without that level
            values = [_sum_expression(table, f).label(f) for f in fields]
        else:
            values = [_row_value(table, f).label(f) for f in fields]
        inner = select(bucket_column, *dimension_columns, *values).where(
            *usage_filter.conditions_within(table, span.lower, span.upper)
        )
        inner = (inner.group_by(bucket_column, *dimension_columns) if sqlite else inner).subquery()
        value = inner.c[DIMENSION_COLUMNS[dimension]]
        wanted = value.in_([k for k in kept if k is not None])
        if None in kept:
            wanted = or_(wanted, value == NO_ID if rollup else value.is_(None))
        columns = [inner.c.bucket, case((wanted, 1), else_=0), case((wanted, value))]
        sums = [func.sum(inner.c[f]) if f == "cost_usd" else cast(func.sum(inner.c[f]), BigInteger) for f in fields]
        for row in session.execute(select(*columns, *sums).group_by(*columns)):
            moment = moments.get(row[0])
            if moment is None:
                moment = moments[row[0]] = as_utc(row[0])
            key = row[2] if row[1] else Fold.OTHER
            if rollup and key == NO_ID and dimension in ("user", "key"):
                key = None
            totals = [convert(v or 0) for convert, v in zip(converters, row[3:], strict=True)]
            known = groups.get((moment, key))
            groups[(moment, key)] = totals if known is None else [a + b for a, b in zip(known, totals, strict=True)]
    return groups


def _row_value(table: UsageTable, field: SumField) -> ColumnElement[Any] | Mapped[Any]:
    """What one row adds to `field`: a record counts one request."""
    if table is UsageRecord and field == "requests":
        return literal(1)
    return col(getattr(table, field))


def distinct_values(
    session: Session, usage_filter: UsageFilter, dimensions: Sequence[Dimension]
) -> Iterator[tuple[Any, ...]]:
    """Every combination of the dimensions present in the filter's records (repeats possible across spans)."""
    tables = _tables(usage_filter, dimensions)
    for span in _spans(usage_filter, None):
        table = tables[span.source]
        columns = [col(getattr(table, DIMENSION_COLUMNS[d])) for d in dimensions]
        query = select(*columns).where(*usage_filter.conditions_within(table, span.lower, span.upper)).distinct()
        for row in session.execute(query):
            key = tuple(row)
            yield _without_no_id(key, False, dimensions) if table is not UsageRecord and NO_ID in key else key
