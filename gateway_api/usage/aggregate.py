"""Usage sums per group (time bucket and/or user, key, model, provider) for a filter, read span by span.

Each span of the range (see spans.py) is one grouped query on the raw records or a rollup; the partial sums
are added here. The rollups hold far fewer rows than the records, so a month costs a scan of the daily rollup
plus a few hours of raw rows, whatever the record count.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, select

from gateway_api.db.models import UsageDaily, UsageHourly, UsageRecord
from gateway_api.usage.filters import NO_ID, UsageFilter, UsageTable, time_column
from gateway_api.usage.spans import Span, plan_spans

Bucket = Literal["hour", "day"]
Dimension = Literal["user", "key", "model", "provider"]
SumField = Literal[
    "requests", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens",
    "cost_usd",
]  # fmt: skip
TABLES: dict[str, UsageTable] = {"raw": UsageRecord, "hourly": UsageHourly, "daily": UsageDaily}
DIMENSION_COLUMNS = {"user": "user_id", "key": "api_key_id", "model": "model", "provider": "provider"}
SQLITE_BUCKET_FORMATS = {"hour": "%Y-%m-%d %H:00:00", "day": "%Y-%m-%d 00:00:00"}


def as_utc(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _bucket_expression(session: Session, table: UsageTable, bucket: Bucket) -> ColumnElement[Any]:
    if table is UsageDaily or (table is UsageHourly and bucket == "hour"):
        return col(table.bucket_start)  # already the bucket
    moment = time_column(table)
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc(bucket, func.timezone("UTC", moment))
    return func.strftime(SQLITE_BUCKET_FORMATS[bucket], moment)


def _sum_expression(table: UsageTable, field: SumField) -> ColumnElement[Any]:
    if table is UsageRecord and field == "requests":
        return func.count()
    return func.sum(getattr(table, field))


def _spans(usage_filter: UsageFilter, bucket: Bucket | None) -> list[Span]:
    return plan_spans(usage_filter.start, usage_filter.end, days_allowed=bucket != "hour")


def grouped_sums(
    session: Session,
    usage_filter: UsageFilter,
    fields: Sequence[SumField],
    dimensions: Sequence[Dimension] = (),
    bucket: Bucket | None = None,
) -> dict[tuple, list[Any]]:
    """{(bucket start if bucketed, *dimension values): [sum of each field]} for the groups with records.

    A missing user or key is None, as in the records.
    """
    groups: dict[tuple, list[Any]] = {}
    cost_index = list(fields).index("cost_usd") if "cost_usd" in fields else -1
    for span in _spans(usage_filter, bucket):
        table = TABLES[span.source]
        keys = [col(getattr(table, DIMENSION_COLUMNS[d])) for d in dimensions]
        if bucket is not None:
            keys.insert(0, _bucket_expression(session, table, bucket))
        query = select(*keys, *(_sum_expression(table, f) for f in fields)).where(
            *usage_filter.conditions_within(table, span.lower, span.upper)
        )
        for row in session.exec(query.group_by(*keys) if keys else query):
            key = _group_key(row[: len(keys)], bucket is not None, dimensions, table is not UsageRecord)
            sums = groups.setdefault(key, [0.0 if i == cost_index else 0 for i in range(len(fields))])
            for index, value in enumerate(row[len(keys) :]):
                if value is not None:  # an ungrouped sum over no rows
                    sums[index] += float(value) if index == cost_index else int(value)
    return groups


def _group_key(values: Sequence[Any], bucketed: bool, dimensions: Sequence[Dimension], rollup: bool) -> tuple:
    key = list(values)
    if bucketed:
        key[0] = as_utc(key[0])
    if rollup:
        for position, dimension in enumerate(dimensions, start=1 if bucketed else 0):
            if dimension in ("user", "key") and key[position] == NO_ID:
                key[position] = None
    return tuple(key)


def distinct_values(session: Session, usage_filter: UsageFilter, dimensions: Sequence[Dimension]) -> Iterator[tuple]:
    """Every combination of the dimensions present in the filter's records (repeats possible across spans)."""
    for span in _spans(usage_filter, None):
        table = TABLES[span.source]
        columns = [col(getattr(table, DIMENSION_COLUMNS[d])) for d in dimensions]
        query = select(*columns).where(*usage_filter.conditions_within(table, span.lower, span.upper)).distinct()
        for row in session.exec(query):
            yield _group_key(row, False, dimensions, table is not UsageRecord)
