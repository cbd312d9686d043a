"""The Token Usage page's filters: read from and written to the URL query string, turned into API parameters.

Pure functions (no Reflex), so what a shared link means is easy to test and reason about. Dates are whole UTC
days; the range is inclusive of both ends and defaults to the last 7 days (today and the 6 before it).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

DEFAULT_DAYS = 7
GROUPINGS = ("token_type", "user", "model")
DEFAULT_GROUPING = "token_type"
# What the timeline measures (the API's metric for each).
MEASURES = {"tokens": "tokens", "spend": "cost_usd"}
DEFAULT_MEASURE = "tokens"
# Up to this many days the timeline has one bar per hour, beyond it one per day.
HOURLY_UP_TO_DAYS = 2
MAX_FILTER_VALUES = 500


def today_utc() -> date:
    return datetime.now(UTC).date()


@dataclass(frozen=True)
class UsageView:
    """Everything a shared Token Usage link pins down."""

    start_day: date
    end_day: date
    user_ids: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    key_ids: tuple[str, ...] = ()
    group_by: str = DEFAULT_GROUPING
    measure: str = DEFAULT_MEASURE
    explicit_dates: bool = field(default=False, compare=False)

    @property
    def days(self) -> int:
        return (self.end_day - self.start_day).days + 1

    @property
    def bucket(self) -> str:
        return "hour" if self.days <= HOURLY_UP_TO_DAYS else "day"

    @property
    def metric(self) -> str:
        return MEASURES.get(self.measure, MEASURES[DEFAULT_MEASURE])


def default_range(today: date) -> tuple[date, date]:
    return today - timedelta(days=DEFAULT_DAYS - 1), today


def _parse_day(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def _split(value: str, digits_only: bool) -> tuple[str, ...]:
    items = [part.strip() for part in value.split(",") if part.strip()]
    if digits_only:
        items = [part for part in items if part.isdigit() and int(part) > 0]
    return tuple(dict.fromkeys(items))[:MAX_FILTER_VALUES]


def view_from_query(query: dict[str, Any], today: date) -> UsageView:
    """Read a view from URL query parameters; anything malformed falls back to the default, never fails."""
    start, end = default_range(today)
    chosen_start = _parse_day(str(query.get("from", "")))
    chosen_end = _parse_day(str(query.get("to", "")))
    explicit = bool(chosen_start or chosen_end)
    if chosen_start and chosen_end and chosen_start <= chosen_end:
        start, end = chosen_start, chosen_end
    elif chosen_start and not chosen_end and chosen_start <= today:
        start, end = chosen_start, today
    elif chosen_end and not chosen_start:
        start, end = chosen_end - timedelta(days=DEFAULT_DAYS - 1), chosen_end
    else:
        explicit = False
    group_by = str(query.get("group", DEFAULT_GROUPING))
    measure = str(query.get("measure", DEFAULT_MEASURE))
    return UsageView(
        start_day=start,
        end_day=end,
        user_ids=_split(str(query.get("users", "")), digits_only=True),
        models=_split(str(query.get("models", "")), digits_only=False),
        key_ids=_split(str(query.get("keys", "")), digits_only=True),
        group_by=group_by if group_by in GROUPINGS else DEFAULT_GROUPING,
        measure=measure if measure in MEASURES else DEFAULT_MEASURE,
        explicit_dates=explicit,
    )


def query_from_view(view: UsageView) -> str:
    """The query string (without "?") that restores `view`; defaults are left out so links stay short."""
    params: dict[str, str] = {}
    if view.explicit_dates:
        params["from"] = view.start_day.isoformat()
        params["to"] = view.end_day.isoformat()
    for name, values in (("users", view.user_ids), ("models", view.models), ("keys", view.key_ids)):
        if values:
            params[name] = ",".join(values)
    if view.group_by != DEFAULT_GROUPING:
        params["group"] = view.group_by
    if view.measure != DEFAULT_MEASURE:
        params["measure"] = view.measure
    return urlencode(params, safe=",:@/")


def with_dates(view: UsageView, start: date, end: date) -> UsageView:
    return replace(view, start_day=start, end_day=end, explicit_dates=True)


def period_params(view: UsageView) -> dict[str, str]:
    """start (inclusive) and end (exclusive) instants of the whole-day range, in UTC."""
    start = datetime.combine(view.start_day, datetime.min.time(), tzinfo=UTC)
    end = datetime.combine(view.end_day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    return {"start": start.isoformat(), "end": end.isoformat()}


def api_params(view: UsageView) -> dict[str, Any]:
    """The REST API's usage filter parameters (lists repeat the parameter, as the API expects)."""
    params: dict[str, Any] = period_params(view)
    if view.user_ids:
        params["user_ids"] = list(view.user_ids)
    if view.models:
        params["models"] = list(view.models)
    if view.key_ids:
        params["api_key_ids"] = list(view.key_ids)
    return params
