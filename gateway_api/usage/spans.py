"""Which table answers which part of a usage query's time range.

The rollups hold whole hours and whole UTC days, so a range [start, end) is cut into: raw records for the
partial hours at its edges, the hourly rollup for the whole hours next to them, and the daily rollup for the
whole days in the middle (unless the query buckets by hour, which days cannot answer). Summed together the
spans cover the range exactly once, so totals are exact for any start and end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

Source = Literal["raw", "hourly", "daily"]
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Span:
    source: Source
    lower: datetime
    upper: datetime | None  # None: no upper bound


def _floor(moment: datetime, step: timedelta) -> datetime:
    moment = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if step == DAY else moment


def _ceil(moment: datetime, step: timedelta) -> datetime:
    floored = _floor(moment, step)
    return floored if floored == moment else floored + step


def plan_spans(start: datetime, end: datetime | None, days_allowed: bool = True) -> list[Span]:
    """Spans covering [start, end) exactly once, the coarsest table for each part; empty parts left out."""
    first_hour = _ceil(start, HOUR)
    last_hour = None if end is None else _floor(end, HOUR)
    if last_hour is not None and last_hour <= first_hour:
        return [Span("raw", start, end)]
    spans = [Span("raw", start, first_hour)] if start < first_hour else []
    spans += _whole_hours(first_hour, last_hour, days_allowed)
    if end is not None and last_hour is not None and last_hour < end:
        spans.append(Span("raw", last_hour, end))
    return spans


def _whole_hours(first_hour: datetime, last_hour: datetime | None, days_allowed: bool) -> list[Span]:
    if not days_allowed:
        return [Span("hourly", first_hour, last_hour)]
    first_day = _ceil(first_hour, DAY)
    last_day = None if last_hour is None else _floor(last_hour, DAY)
    if last_day is not None and last_day <= first_day:
        return [Span("hourly", first_hour, last_hour)]
    spans = [Span("hourly", first_hour, first_day)] if first_hour < first_day else []
    spans.append(Span("daily", first_day, last_day))
    if last_hour is not None and last_day is not None and last_day < last_hour:
        spans.append(Span("hourly", last_day, last_hour))
    return spans
