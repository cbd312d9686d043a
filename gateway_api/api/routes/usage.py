"""Token usage: records, totals, time series, breakdowns, CSV export. Admins see everyone, users themselves."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import Engine
from sqlmodel import Session

from gateway_api.accounts.roles import can_read_everything
from gateway_api.api.crud import MAX_ID
from gateway_api.api.deps import CurrentUser, ServicesDep, SessionDep
from gateway_api.api.errors import field_error
from gateway_api.db.models import Outcome
from gateway_api.usage import queries
from gateway_api.usage.csv_cells import defuse_formula
from gateway_api.usage.queries import BreakdownBy, Bucket, GroupBy, Metric, QueryError, Totals, UsageFilter
from gateway_api.usage.system_actor import MESSAGE_POLICY_JUDGE, is_judge_call, message_policy_spend

router = APIRouter(prefix="/usage", tags=["usage"])

DEFAULT_RANGE = timedelta(days=7)
MAX_LIST_FILTER = 500
# Earliest and latest moments a filter may name: beyond them databases disagree on date arithmetic.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def utc_query_time(value: datetime | None, field: str) -> datetime | None:
    if value is None:
        return None
    # A time without an offset is read as UTC, the zone every stored time is in.
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if not EARLIEST <= value <= LATEST:
        raise field_error(field, "must be between 1970 and 9000", where="query")
    return value


def usage_filter(
    user: CurrentUser,
    start: Annotated[datetime | None, Query(description="inclusive; default: 7 days ago (UTC if no offset)")] = None,
    end: Annotated[datetime | None, Query(description="exclusive; default: no upper bound")] = None,
    user_ids: Annotated[list[int] | None, Query(description="repeat for several")] = None,
    models: Annotated[list[str] | None, Query()] = None,
    api_key_ids: Annotated[list[int] | None, Query()] = None,
    provider: Annotated[str | None, Query(max_length=100, description="provider name")] = None,
    outcome: Outcome | None = None,
) -> UsageFilter:
    """The filters of a usage request; a non-admin is always limited to their own usage."""
    start_at = utc_query_time(start, "start")
    end_at = utc_query_time(end, "end")
    if start_at is None:
        start_at = (end_at or datetime.now(UTC)) - DEFAULT_RANGE
    if end_at is not None and end_at <= start_at:
        raise field_error("end", "must be after start", where="query")
    user_id_list, model_list, key_id_list = user_ids or [], models or [], api_key_ids or []
    lists: dict[str, list[int] | list[str]] = {
        "user_ids": user_id_list,
        "models": model_list,
        "api_key_ids": key_id_list,
    }
    for name, values in lists.items():
        if len(values) > MAX_LIST_FILTER:
            raise field_error(name, f"at most {MAX_LIST_FILTER} values", where="query")
    for name, ids in (("user_ids", user_id_list), ("api_key_ids", key_id_list)):
        if any(not 1 <= v <= MAX_ID for v in ids):
            raise field_error(name, "ids are positive integers", where="query")
    wanted_users = tuple(dict.fromkeys(user_id_list))
    if not can_read_everything(user):
        if any(uid != user.id for uid in wanted_users):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "you can only see your own usage")
        wanted_users = (user.id or 0,)
    return UsageFilter(
        start=start_at,
        end=end_at,
        user_ids=wanted_users,
        models=tuple(dict.fromkeys(model_list)),
        api_key_ids=tuple(dict.fromkeys(key_id_list)),
        provider=provider or None,
        outcome=outcome,
    )


FilterDep = Annotated[UsageFilter, Depends(usage_filter)]


class UsageTotals(BaseModel):
    requests: int
    failed_requests: int = Field(description="of the requests, those whose outcome was not ok")
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    cost_usd: float


def _totals(totals: Totals) -> UsageTotals:
    return UsageTotals.model_validate(totals, from_attributes=True)


class UsageSummary(UsageTotals):
    start: datetime
    end: datetime | None
    unpriced_models: list[str] = Field(
        description="models in these records without an input or output price: their calls are counted at $0"
    )
    estimated_requests: int = Field(
        description="of the requests, those whose usage was partly estimated: cut before the provider reported it"
    )
    message_policy_requests: int = Field(
        description="of the requests, the message policy judge's own calls (the gateway's, under no user or key)"
    )
    message_policy_cost_usd: float = Field(description="of the cost, what the message policy judge's calls cost")


class UsageRecordPublic(BaseModel):
    id: int
    created_at: datetime
    user_id: int | None
    user_email: str | None
    actor: str | None = Field(
        description="who made a call that has no user: the gateway's message policy judge (null otherwise)"
    )
    api_key_id: int | None
    api_key_name: str | None
    api_key_prefix: str | None
    provider: str
    provider_kind: str
    model: str
    endpoint: str
    streamed: bool
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    cost_usd: float
    usage_estimated: bool = Field(
        description="estimated: the call was cut before the provider reported its usage; the figures it did not "
        "report are a conservative estimate (README: cut streams)"
    )
    status_code: int
    outcome: Outcome
    latency_ms: float
    ttfb_ms: float | None
    client: str
    session_id: str | None
    request_id: str | None


class UsageRecordsPage(BaseModel):
    data: list[UsageRecordPublic]
    total: int
    limit: int
    offset: int


class TimeseriesPoint(BaseModel):
    bucket_start: datetime
    series: dict[str, float]


class UsageTimeseries(BaseModel):
    bucket: Bucket
    group_by: GroupBy
    metric: Metric
    series: list[str] = Field(description="series names in stack order")
    points: list[TimeseriesPoint]


class BreakdownEntry(UsageTotals):
    key: str = Field(description="user id, key id or model name")
    label: str
    price_known: bool | None = Field(
        default=None, description="by model: false when the model has no input or output price (null otherwise)"
    )


class UsageBreakdown(BaseModel):
    by: BreakdownBy
    data: list[BreakdownEntry]


class UserOption(BaseModel):
    id: int
    email: str


class KeyOption(BaseModel):
    id: int
    name: str
    prefix: str
    user_email: str


class UsageFilterOptions(BaseModel):
    users: list[UserOption]
    models: list[str]
    api_keys: list[KeyOption]
    providers: list[str]


def _record_public(row: queries.RecordRow) -> UsageRecordPublic:
    return UsageRecordPublic(
        **row.record.model_dump(),
        user_email=row.user_email,
        actor=MESSAGE_POLICY_JUDGE if is_judge_call(row.record.user_id, row.record.endpoint) else None,
        api_key_name=row.api_key_name,
        api_key_prefix=row.api_key_prefix,
    )


@router.get("/records", response_model=UsageRecordsPage)
def list_usage_records(
    session: SessionDep,
    usage: FilterDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> UsageRecordsPage:
    """Usage records matching the filters, newest first, one page at a time."""
    rows, total = queries.records(session, usage, limit, offset)
    return UsageRecordsPage(data=[_record_public(r) for r in rows], total=total, limit=limit, offset=offset)


@router.get("/summary", response_model=UsageSummary)
def read_usage_summary(session: SessionDep, usage: FilterDep) -> UsageSummary:
    """Totals (requests, tokens by type, spend) for exactly the active filters."""
    totals = _totals(queries.summary(session, usage))
    unpriced = queries.unpriced_models(session, usage) if totals.requests else []
    estimated = queries.estimated_requests(session, usage) if totals.requests else 0
    judge = message_policy_spend(session, usage, datetime.now(UTC)) if totals.requests else None
    return UsageSummary(
        **totals.model_dump(),
        start=usage.start,
        end=usage.end,
        unpriced_models=unpriced,
        estimated_requests=estimated,
        message_policy_requests=judge.requests if judge else 0,
        message_policy_cost_usd=judge.cost_usd if judge else 0.0,
    )


@router.get("/timeseries", response_model=UsageTimeseries)
def read_usage_timeseries(
    session: SessionDep,
    usage: FilterDep,
    bucket: Bucket = "day",
    group_by: GroupBy = "token_type",
    metric: Annotated[Metric, Query(description="token_type shows other metrics as one total series")] = "tokens",
    max_series: Annotated[int, Query(ge=1, le=50, description="largest series kept; the rest is 'other'")] = 10,
) -> UsageTimeseries:
    """Stacked time series: every bucket of the range, one value per series."""
    try:
        result = queries.timeseries(session, usage, bucket, group_by, metric, max_series)
    except QueryError as problem:
        raise field_error(problem.field, str(problem), where="query") from None
    return UsageTimeseries(
        bucket=bucket,
        group_by=group_by,
        metric=metric,
        series=result.series,
        points=[TimeseriesPoint(bucket_start=moment, series=values) for moment, values in result.points],
    )


@router.get("/breakdown", response_model=UsageBreakdown)
def read_usage_breakdown(session: SessionDep, usage: FilterDep, by: BreakdownBy = "model") -> UsageBreakdown:
    """Totals per model, user or key (largest spend first) for the small charts."""
    rows = queries.breakdown(session, usage, by)
    unpriced = set(queries.unpriced_models(session, usage)) if by == "model" and rows else set()
    data = [
        BreakdownEntry(
            key=r.key,
            label=r.label,
            price_known=(r.key not in unpriced) if by == "model" else None,
            **_totals(r.totals).model_dump(),
        )
        for r in rows
    ]
    return UsageBreakdown(by=by, data=data)


@router.get("/filters", response_model=UsageFilterOptions)
def read_usage_filter_options(session: SessionDep, usage: FilterDep) -> UsageFilterOptions:
    """The users, models, keys and providers present in the period, to fill the filter pickers."""
    options = queries.filter_options(session, usage)
    return UsageFilterOptions(
        users=[UserOption(id=i, email=e) for i, e in options.users],
        models=options.models,
        api_keys=[KeyOption(id=i, name=n, prefix=p, user_email=e) for i, n, p, e in options.api_keys],
        providers=options.providers,
    )


CSV_COLUMNS = (
    "created_at", "user_email", "api_key_name", "api_key_prefix", "provider", "model", "endpoint", "streamed",
    "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "cost_usd",
    "usage_estimated", "status_code", "outcome", "latency_ms", "ttfb_ms", "client", "session_id", "request_id",
)  # fmt: skip


def _csv_lines(services_engine: Engine, usage: UsageFilter) -> Iterator[str]:
    # Its own session: the request's session may be closed while the response is still streaming.
    with Session(services_engine) as session:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        for count, row in enumerate(queries.iter_records(session, usage), start=1):
            record = _record_public(row).model_dump(mode="json")
            # The judge's calls have no user: the export names the system actor in the user column instead.
            record["user_email"] = record["user_email"] or record["actor"]
            writer.writerow([_csv_safe(record[c]) for c in CSV_COLUMNS])
            if count % 500 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()


def _csv_safe(value: object) -> object:
    # Strings come from callers (client names, key names): a spreadsheet must not run them (usage/csv_cells.py).
    if isinstance(value, str):
        return defuse_formula(value)
    if isinstance(value, float):
        return plain_decimal(value)
    return "" if value is None else value


def plain_decimal(value: float) -> str:
    """A float as a spreadsheet reads it everywhere: 0.00002375, never 2.375e-05 (the shortest exact digits)."""
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


@router.get(
    "/export.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "the records as CSV"}},
)
def export_usage_csv(services: ServicesDep, usage: FilterDep) -> StreamingResponse:
    """Every record matching the filters as CSV, streamed."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return StreamingResponse(
        _csv_lines(services.engine, usage),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="usage-{stamp}.csv"'},
    )
