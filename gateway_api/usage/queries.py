"""Usage queries for the REST API: records, totals, time buckets and breakdowns, for one set of filters.

Totals, series, breakdowns and filter options read the hourly and daily rollups for whole hours and days and
the raw records only for the partial hours at the range's edges (aggregate.py), so they stay fast with millions
of records and exact for any start and end. Record pages read the raw table through its time indexes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import func, true
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from gateway_api.db.models import ApiKey, Model, Outcome, UsageRecord, User
from gateway_api.usage.aggregate import (
    Bucket,
    Dimension,
    Fold,
    SumField,
    distinct_values,
    folded_series,
    grouped_sums,
)
from gateway_api.usage.filters import UsageFilter
from gateway_api.usage.system_actor import MESSAGE_POLICY_ACTOR, no_user_label

__all__ = ["Bucket", "QueryError", "Totals", "UsageFilter"]

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
class Totals:
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float = 0.0
    failed_requests: int = 0  # part of `requests`: calls whose outcome was not ok


TOTAL_FIELDS: tuple[SumField, ...] = (
    "requests", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens",
    "cost_usd",
)  # fmt: skip


def _totals(values: Sequence[Any], failed: int = 0) -> Totals:
    requests, input_tokens, output_tokens, cache_read, cache_write, reasoning = (int(v) for v in values[:6])
    return Totals(
        requests,
        input_tokens,
        output_tokens,
        cache_read,
        cache_write,
        reasoning,
        cost_usd=round(float(values[6]), 10),
        failed_requests=failed,
    )


def totals_by(
    session: Session, usage_filter: UsageFilter, dimensions: tuple[Dimension, ...] = ()
) -> dict[tuple[Any, ...], Totals]:
    """Totals per group of `dimensions`, each with its failed calls: the sums are read per outcome as well (a few
    groups more, no extra query) and folded here."""
    sums: dict[tuple[Any, ...], list[Any]] = {}
    failed: dict[tuple[Any, ...], int] = {}
    for (*key, outcome), values in grouped_sums(session, usage_filter, TOTAL_FIELDS, (*dimensions, "outcome")).items():
        group = tuple(key)
        known = sums.get(group)
        sums[group] = values if known is None else [a + b for a, b in zip(known, values, strict=True)]
        if str(outcome) != Outcome.ok.value:
            failed[group] = failed.get(group, 0) + int(values[0])
    return {group: _totals(values, failed.get(group, 0)) for group, values in sums.items()}


def summary(session: Session, usage_filter: UsageFilter) -> Totals:
    return totals_by(session, usage_filter).get((), Totals())


def unpriced_models(session: Session, usage_filter: UsageFilter) -> list[str]:
    """The models in the filter's records whose input or output price is unknown: their calls were counted at $0."""
    present = {model for (model,) in distinct_values(session, usage_filter, ("model",))}
    if not present:
        return []
    unknown = session.exec(
        select(Model.name).where(
            col(Model.name).in_(present), col(Model.price_input).is_(None) | col(Model.price_output).is_(None)
        )
    ).all()
    return sorted(unknown)


def estimated_requests(session: Session, usage_filter: UsageFilter) -> int:
    """How many of the filter's calls have estimated usage (cut before the provider reported it). Read from the
    records through a partial index that holds only those (the rollups do not count them)."""
    query = (
        select(func.count())
        .select_from(UsageRecord)
        .where(col(UsageRecord.usage_estimated) == true(), *usage_filter.conditions())
    )
    return int(session.exec(query).one())


@dataclass(frozen=True)
class RecordRow:
    record: UsageRecord
    user_email: str | None
    api_key_name: str | None
    api_key_prefix: str | None


def _records_query(usage_filter: UsageFilter) -> Select[UsageRecord, str, str, str]:
    return (
        select(UsageRecord, User.email, ApiKey.name, ApiKey.prefix)
        .outerjoin(User, col(User.id) == col(UsageRecord.user_id))
        .outerjoin(ApiKey, col(ApiKey.id) == col(UsageRecord.api_key_id))
        .where(*usage_filter.conditions())
        .order_by(col(UsageRecord.created_at).desc(), col(UsageRecord.id).desc())
    )


def records(session: Session, usage_filter: UsageFilter, limit: int, offset: int) -> tuple[list[RecordRow], int]:
    """One page of records, newest first, and how many match in all (counted from the rollups)."""
    total = summary(session, usage_filter).requests
    rows = session.exec(_records_query(usage_filter).limit(limit).offset(offset)).all()
    return [RecordRow(*row) for row in rows], int(total)


def iter_records(session: Session, usage_filter: UsageFilter, batch: int = 1000) -> Iterator[RecordRow]:
    """Every matching record, newest first, fetched in batches (for exports of any size)."""
    result = session.exec(_records_query(usage_filter).execution_options(yield_per=batch))
    for row in result:
        yield RecordRow(*row)


# -- time buckets -------------------------------------------------------------------------------


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


METRIC_FIELDS: dict[Metric, tuple[SumField, ...]] = {
    "requests": ("requests",),
    "cost_usd": ("cost_usd",),
    "tokens": ("input_tokens", "output_tokens"),
}
TOKEN_TYPE_FIELDS: tuple[SumField, ...] = ("input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens")


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
    tokens), or with another metric shows its total as one series; the other groupings show `metric`, with all but
    the `max_series` largest folded into "other".
    """
    starts = bucket_starts(usage_filter.start, usage_filter.end or now or datetime.now(UTC), bucket)
    grid: dict[datetime, dict[str, float]] = {moment: {} for moment in starts}
    if group_by == "token_type" and metric != "tokens":
        # Spend and requests have no token types: one series, the total per bucket.
        series: list[str] = [str(metric)]
        for (moment,), sums in grouped_sums(session, usage_filter, METRIC_FIELDS[metric], bucket=bucket).items():
            grid.setdefault(moment, {})[metric] = float(sum(sums))
    elif group_by == "token_type":
        series = list(TOKEN_TYPE_SERIES)
        for (moment,), sums in grouped_sums(session, usage_filter, TOKEN_TYPE_FIELDS, bucket=bucket).items():
            input_tokens, cache_read, cache_write, output = sums
            uncached = max(input_tokens - cache_read - cache_write, 0)
            grid.setdefault(moment, {}).update(
                input=uncached, cache_read=cache_read, cache_write=cache_write, output=output
            )
    else:
        fields, dimension = METRIC_FIELDS[metric], _dimension(group_by)
        by_bucket_and_key = _series_sums(session, usage_filter, fields, dimension, bucket, group_by, max_series)
        rows = [(moment, key, float(sum(sums))) for (moment, key), sums in by_bucket_and_key.items()]
        labels = _labels(session, group_by, {key for _, key, _ in rows if key is not Fold.OTHER}, usage_filter)
        labels[Fold.OTHER] = OTHER_SERIES
        totals: dict[str, float] = {}
        for _, key, value in rows:
            totals[labels[key]] = totals.get(labels[key], 0.0) + value
        named = {name: total for name, total in totals.items() if name != OTHER_SERIES}
        kept = sorted(named, key=lambda name: (-named[name], name))[:max_series]
        series = kept + ([OTHER_SERIES] if len(totals) > len(kept) else [])
        kept_set = set(kept)
        for moment, key, value in rows:
            name = labels[key] if labels[key] in kept_set else OTHER_SERIES
            values = grid.setdefault(moment, {})
            values[name] = values.get(name, 0.0) + value
    points = [(moment, {name: _tidy(grid[moment].get(name, 0), metric) for name in series}) for moment in sorted(grid)]
    return Timeseries(series=series, points=points)


def _series_sums(
    session: Session,
    usage_filter: UsageFilter,
    fields: tuple[SumField, ...],
    dimension: Dimension,
    bucket: Bucket,
    group_by: GroupBy,
    max_series: int,
) -> dict[tuple[Any, ...], list[Any]]:
    """Sums per (bucket, dimension value), the values beyond the largest `max_series` possibly pre-folded.

    Models are few, and days of users some thousands of groups: one grouped query. Keys, and hours of users,
    can be ~100,000 groups, too many to fold in Python, so the largest are found first (a cheap query without
    buckets, mostly daily rollup rows) and the database folds the rest under Fold.OTHER.
    """
    if dimension == "model" or (bucket == "day" and dimension == "user"):
        return grouped_sums(session, usage_filter, fields, (dimension,), bucket)
    key_totals = {
        key: float(sum(sums)) for (key,), sums in grouped_sums(session, usage_filter, fields, (dimension,)).items()
    }
    labels = _labels(session, group_by, set(key_totals), usage_filter)
    label_totals: dict[str, float] = {}
    for key, value in key_totals.items():
        label_totals[labels[key]] = label_totals.get(labels[key], 0.0) + value
    kept = set(sorted(label_totals, key=lambda name: (-label_totals[name], name))[:max_series])
    kept_keys = {key for key in key_totals if labels[key] in kept}
    return folded_series(session, usage_filter, fields, dimension, bucket, kept_keys)


def _tidy(value: float, metric: Metric) -> float:
    return round(value, 10) if metric == "cost_usd" else int(value)


def _dimension(group_by: GroupBy | BreakdownBy) -> Dimension:
    """The aggregate dimension of a user, model or key grouping (token_type is split by column instead)."""
    if group_by == "token_type":
        raise ValueError("token_type has no dimension")
    return group_by


def _labels(
    session: Session, group_by: GroupBy | BreakdownBy, keys: set[Any], usage_filter: UsageFilter
) -> dict[Any, str]:
    """Human names for group keys: users by email, keys by "name (prefix)", models by their own name; no user or
    key is the message policy judge's group (system_actor.py) unless the filter counts refused calls only."""
    if group_by == "model":
        return {key: str(key) for key in keys}
    ids = [k for k in keys if k is not None]
    no_user = no_user_label(usage_filter)
    if group_by == "user":
        found = dict(session.exec(select(User.id, User.email).where(col(User.id).in_(ids))).all()) if ids else {}
        return {k: found.get(k) or (no_user if k is None else f"(deleted user {k})") for k in keys}
    no_key = MESSAGE_POLICY_ACTOR if no_user == MESSAGE_POLICY_ACTOR else "(no key)"
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
            labels[k] = no_key if k is None else f"(deleted key {k})"
    return labels


# -- breakdowns and filter options -----------------------------------------------------------------


@dataclass(frozen=True)
class BreakdownRow:
    key: str
    label: str
    totals: Totals


def breakdown(session: Session, usage_filter: UsageFilter, by: BreakdownBy) -> list[BreakdownRow]:
    """Totals per model, user or key, largest spend first."""
    rows = totals_by(session, usage_filter, (_dimension(by),))
    labels = _labels(session, by, {key for (key,) in rows}, usage_filter)
    result = [
        BreakdownRow(key="" if key is None else str(key), label=labels[key], totals=totals)
        for (key,), totals in rows.items()
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
    present = set(distinct_values(session, scope, ("user", "key", "model", "provider")))
    user_ids = sorted({user for user, _, _, _ in present if user is not None})
    key_ids = sorted({key for _, key, _, _ in present if key is not None})
    users = (
        session.exec(select(User.id, User.email).where(col(User.id).in_(user_ids)).order_by(col(User.email))).all()
        if user_ids
        else []
    )
    keys = (
        session.exec(
            select(ApiKey.id, ApiKey.name, ApiKey.prefix, User.email)
            .join(User, col(User.id) == col(ApiKey.user_id))
            .where(col(ApiKey.id).in_(key_ids))
            .order_by(col(User.email), col(ApiKey.name), col(ApiKey.id))
        ).all()
        if key_ids
        else []
    )
    # SQLModel types the ids int | None (a new row has none); ids read back from the tables are set.
    return FilterOptions(
        users=[(cast(int, i), e) for i, e in users],
        models=sorted({model for _, _, model, _ in present}),
        api_keys=[(cast(int, i), n, p, e) for i, n, p, e in keys],
        providers=sorted({provider for _, _, _, provider in present}),
    )
