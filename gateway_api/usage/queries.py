"""Usage queries for the REST API: records, totals, time buckets and breakdowns, for one set of filters.

Everything aggregates in SQL (SQLite and PostgreSQL), so the cost does not grow with what Python holds:
a time bucket is `strftime` on SQLite and `date_trunc` on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, func
from sqlmodel import Session, col, select

from gateway_api.db.models import ApiKey, Outcome, UsageRecord, User

Bucket = Literal["hour", "day"]
GroupBy = Literal["token_type", "user", "model", "key"]
Metric = Literal["tokens", "cost_usd", "requests"]
BreakdownBy = Literal["model", "user", "key"]

MAX_BUCKETS = 2000
OTHER_SERIES = "other"
# Stack order of the token-type chart; the four parts add up to input + output.
TOKEN_TYPE_SERIES = ("input", "cache_read", "cache_write", "output")


class QueryError(ValueError):
    """The filters cannot be answered; `field` names the parameter at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class UsageFilter:
    start: datetime
    end: datetime | None = None
    user_ids: tuple[int, ...] = ()
    models: tuple[str, ...] = ()
    api_key_ids: tuple[int, ...] = ()
    provider: str | None = None
    outcome: Outcome | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = [col(UsageRecord.created_at) >= self.start]
        if self.end is not None:
            conditions.append(col(UsageRecord.created_at) < self.end)
        if self.user_ids:
            conditions.append(col(UsageRecord.user_id).in_(self.user_ids))
        if self.models:
            conditions.append(col(UsageRecord.model).in_(self.models))
        if self.api_key_ids:
            conditions.append(col(UsageRecord.api_key_id).in_(self.api_key_ids))
        if self.provider:
            conditions.append(col(UsageRecord.provider) == self.provider)
        if self.outcome is not None:
            conditions.append(col(UsageRecord.outcome) == self.outcome)
        return conditions


@dataclass(frozen=True)
class Totals:
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float = 0.0


def _total_columns() -> list[Any]:
    return [
        func.count(),
        func.coalesce(func.sum(UsageRecord.input_tokens), 0),
        func.coalesce(func.sum(UsageRecord.output_tokens), 0),
        func.coalesce(func.sum(UsageRecord.cache_read_tokens), 0),
        func.coalesce(func.sum(UsageRecord.cache_write_tokens), 0),
        func.coalesce(func.sum(UsageRecord.reasoning_tokens), 0),
        func.coalesce(func.sum(UsageRecord.cost_usd), 0.0),
    ]


def _totals(values: Sequence[Any]) -> Totals:
    return Totals(*(int(v) for v in values[:6]), cost_usd=round(float(values[6]), 10))


def summary(session: Session, usage_filter: UsageFilter) -> Totals:
    row = session.exec(select(*_total_columns()).where(*usage_filter.conditions())).one()
    return _totals(row)


@dataclass(frozen=True)
class RecordRow:
    record: UsageRecord
    user_email: str | None
    api_key_name: str | None
    api_key_prefix: str | None


def _records_query(usage_filter: UsageFilter) -> Select:
    return (
        select(UsageRecord, User.email, ApiKey.name, ApiKey.prefix)
        .outerjoin(User, col(User.id) == col(UsageRecord.user_id))
        .outerjoin(ApiKey, col(ApiKey.id) == col(UsageRecord.api_key_id))
        .where(*usage_filter.conditions())
        .order_by(col(UsageRecord.created_at).desc(), col(UsageRecord.id).desc())
    )


def records(session: Session, usage_filter: UsageFilter, limit: int, offset: int) -> tuple[list[RecordRow], int]:
    """One page of records, newest first, and how many match in all."""
    total = session.exec(select(func.count()).select_from(UsageRecord).where(*usage_filter.conditions())).one()
    rows = session.exec(_records_query(usage_filter).limit(limit).offset(offset)).all()
    return [RecordRow(*row) for row in rows], int(total)


def iter_records(session: Session, usage_filter: UsageFilter, batch: int = 1000) -> Iterator[RecordRow]:
    """Every matching record, newest first, fetched in batches (for exports of any size)."""
    result = session.exec(_records_query(usage_filter).execution_options(yield_per=batch))
    for row in result:
        yield RecordRow(*row)


# -- time buckets -------------------------------------------------------------------------------


def _bucket_expression(session: Session, bucket: Bucket) -> ColumnElement[Any]:
    created = col(UsageRecord.created_at)
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc(bucket, func.timezone("UTC", created))
    return func.strftime("%Y-%m-%d %H:00:00" if bucket == "hour" else "%Y-%m-%d 00:00:00", created)


def _as_utc(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def floor_to_bucket(moment: datetime, bucket: Bucket) -> datetime:
    moment = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if bucket == "day" else moment


def bucket_starts(start: datetime, end: datetime, bucket: Bucket) -> list[datetime]:
    step = timedelta(hours=1) if bucket == "hour" else timedelta(days=1)
    first, last = floor_to_bucket(start, bucket), floor_to_bucket(end, bucket)
    count = int((last - first) / step) + 1
    if count > MAX_BUCKETS:
        raise QueryError(
            "bucket", f"{count} {bucket} buckets is too many (at most {MAX_BUCKETS}); use day or a shorter range"
        )
    return [first + i * step for i in range(max(count, 0))]


@dataclass(frozen=True)
class Timeseries:
    series: list[str]
    points: list[tuple[datetime, dict[str, float]]] = field(default_factory=list)


def _metric_expression(metric: Metric) -> ColumnElement[Any]:
    if metric == "requests":
        return func.count()
    if metric == "cost_usd":
        return func.coalesce(func.sum(UsageRecord.cost_usd), 0.0)
    return func.coalesce(func.sum(col(UsageRecord.input_tokens) + col(UsageRecord.output_tokens)), 0)


def timeseries(
    session: Session,
    usage_filter: UsageFilter,
    bucket: Bucket,
    group_by: GroupBy,
    metric: Metric = "tokens",
    max_series: int = 10,
    now: datetime | None = None,
) -> Timeseries:
    """Values per bucket and series, every bucket of the range present (zeros included) for stacked charts.

    token_type splits tokens into uncached input, cache reads, cache writes and output (they add up to all
    tokens); the other groupings show `metric`, with all but the `max_series` largest folded into "other".
    """
    starts = bucket_starts(usage_filter.start, usage_filter.end or now or datetime.now(UTC), bucket)
    bucket_column = _bucket_expression(session, bucket).label("bucket")
    conditions = usage_filter.conditions()
    grid: dict[datetime, dict[str, float]] = {moment: {} for moment in starts}
    if group_by == "token_type":
        series = list(TOKEN_TYPE_SERIES)
        query = (
            select(
                bucket_column,
                func.coalesce(func.sum(UsageRecord.input_tokens), 0),
                func.coalesce(func.sum(UsageRecord.cache_read_tokens), 0),
                func.coalesce(func.sum(UsageRecord.cache_write_tokens), 0),
                func.coalesce(func.sum(UsageRecord.output_tokens), 0),
            )
            .where(*conditions)
            .group_by(bucket_column)
        )
        for moment, input_tokens, cache_read, cache_write, output in session.exec(query):
            values = grid.setdefault(_as_utc(moment), {})
            uncached = max(int(input_tokens) - int(cache_read) - int(cache_write), 0)
            values.update(input=uncached, cache_read=int(cache_read), cache_write=int(cache_write), output=int(output))
    else:
        dimension = _dimension(group_by)
        query = (
            select(bucket_column, dimension, _metric_expression(metric))
            .where(*conditions)
            .group_by(bucket_column, dimension)
        )
        rows = [(_as_utc(moment), key, float(value)) for moment, key, value in session.exec(query)]
        labels = _labels(session, group_by, {key for _, key, _ in rows})
        totals: dict[str, float] = {}
        for _, key, value in rows:
            totals[labels[key]] = totals.get(labels[key], 0.0) + value
        kept = sorted(totals, key=lambda name: (-totals[name], name))[:max_series]
        series = kept + ([OTHER_SERIES] if len(totals) > len(kept) else [])
        kept_set = set(kept)
        for moment, key, value in rows:
            name = labels[key] if labels[key] in kept_set else OTHER_SERIES
            values = grid.setdefault(moment, {})
            values[name] = values.get(name, 0.0) + value
    points = [(moment, {name: _tidy(grid[moment].get(name, 0), metric) for name in series}) for moment in sorted(grid)]
    return Timeseries(series=series, points=points)


def _tidy(value: float, metric: Metric) -> float:
    return round(value, 10) if metric == "cost_usd" else int(value)


def _dimension(group_by: GroupBy | BreakdownBy) -> ColumnElement[Any]:
    if group_by == "user":
        return col(UsageRecord.user_id)
    if group_by == "key":
        return col(UsageRecord.api_key_id)
    return col(UsageRecord.model)


def _labels(session: Session, group_by: GroupBy | BreakdownBy, keys: set[Any]) -> dict[Any, str]:
    """Human names for group keys: users by email, keys by "name (prefix)", models by their own name."""
    if group_by == "model":
        return {key: str(key) for key in keys}
    ids = [k for k in keys if k is not None]
    if group_by == "user":
        found = dict(session.exec(select(User.id, User.email).where(col(User.id).in_(ids))).all()) if ids else {}
        return {k: found.get(k) or ("(no user)" if k is None else f"(deleted user {k})") for k in keys}
    named = (
        {
            i: (n, p)
            for i, n, p in session.exec(select(ApiKey.id, ApiKey.name, ApiKey.prefix).where(col(ApiKey.id).in_(ids)))
        }
        if ids
        else {}
    )
    labels = {}
    for k in keys:
        if k in named:
            name, prefix = named[k]
            labels[k] = f"{name} ({prefix})" if name else prefix
        else:
            labels[k] = "(no key)" if k is None else f"(deleted key {k})"
    return labels


# -- breakdowns and filter options -----------------------------------------------------------------


@dataclass(frozen=True)
class BreakdownRow:
    key: str
    label: str
    totals: Totals


def breakdown(session: Session, usage_filter: UsageFilter, by: BreakdownBy) -> list[BreakdownRow]:
    """Totals per model, user or key, largest spend first."""
    dimension = _dimension(by)
    rows = session.exec(
        select(dimension, *_total_columns()).where(*usage_filter.conditions()).group_by(dimension)
    ).all()
    labels = _labels(session, by, {row[0] for row in rows})
    result = [
        BreakdownRow(key="" if row[0] is None else str(row[0]), label=labels[row[0]], totals=_totals(row[1:]))
        for row in rows
    ]
    return sorted(
        result,
        key=lambda r: (-r.totals.cost_usd, -(r.totals.input_tokens + r.totals.output_tokens), r.label),
    )


@dataclass(frozen=True)
class FilterOptions:
    users: list[tuple[int, str]]
    models: list[str]
    api_keys: list[tuple[int, str, str, str]]  # id, name, prefix, owner email
    providers: list[str]


def filter_options(session: Session, usage_filter: UsageFilter) -> FilterOptions:
    """The users, models, keys and providers that appear in records of the filter's period (and user scope)."""
    scope = UsageFilter(start=usage_filter.start, end=usage_filter.end, user_ids=usage_filter.user_ids)
    conditions = scope.conditions()
    user_ids = select(UsageRecord.user_id).where(*conditions).distinct()
    key_ids = select(UsageRecord.api_key_id).where(*conditions).distinct()
    users = session.exec(select(User.id, User.email).where(col(User.id).in_(user_ids)).order_by(col(User.email))).all()
    keys = session.exec(
        select(ApiKey.id, ApiKey.name, ApiKey.prefix, User.email)
        .join(User, col(User.id) == col(ApiKey.user_id))
        .where(col(ApiKey.id).in_(key_ids))
        .order_by(col(User.email), col(ApiKey.name), col(ApiKey.id))
    ).all()
    models = session.exec(
        select(UsageRecord.model).where(*conditions).distinct().order_by(col(UsageRecord.model))
    ).all()
    providers = session.exec(
        select(UsageRecord.provider).where(*conditions).distinct().order_by(col(UsageRecord.provider))
    ).all()
    return FilterOptions(
        users=[(int(i), e) for i, e in users],
        models=list(models),
        api_keys=[(int(i), n, p, e) for i, n, p, e in keys],
        providers=list(providers),
    )
