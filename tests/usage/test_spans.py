"""Cutting a time range into raw, hourly and daily spans that cover it exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from gateway_api.usage.spans import Span, plan_spans


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def test_a_month_reads_days_in_the_middle_hours_next_to_them_and_raw_rows_at_the_edges() -> None:
    assert plan_spans(at(2, 10, 15), at(5, 7, 30)) == [
        Span("raw", at(2, 10, 15), at(2, 11)),
        Span("hourly", at(2, 11), at(3, 0)),
        Span("daily", at(3, 0), at(5, 0)),
        Span("hourly", at(5, 0), at(5, 7)),
        Span("raw", at(5, 7), at(5, 7, 30)),
    ]


def test_hour_buckets_never_read_the_daily_rollup() -> None:
    assert plan_spans(at(2, 10), at(5, 0), days_allowed=False) == [Span("hourly", at(2, 10), at(5, 0))]


def test_aligned_ranges_read_no_raw_rows_and_short_ranges_only_raw_rows() -> None:
    assert plan_spans(at(2, 0), at(4, 0)) == [Span("daily", at(2, 0), at(4, 0))]
    assert plan_spans(at(2, 10, 15), at(2, 11, 5)) == [Span("raw", at(2, 10, 15), at(2, 11, 5))]
    assert plan_spans(at(2, 10, 15), at(2, 12, 5)) == [
        Span("raw", at(2, 10, 15), at(2, 11)),
        Span("hourly", at(2, 11), at(2, 12)),
        Span("raw", at(2, 12), at(2, 12, 5)),
    ]


def test_an_open_end_reads_the_rollups_to_the_end_of_time() -> None:
    assert plan_spans(at(2, 10, 15), None) == [
        Span("raw", at(2, 10, 15), at(2, 11)),
        Span("hourly", at(2, 11), at(3, 0)),
        Span("daily", at(3, 0), None),
    ]
    assert plan_spans(at(2, 10, 15), None, days_allowed=False)[-1] == Span("hourly", at(2, 11), None)


moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 1, 6), timezones=st.just(UTC))


@given(start=moments, length=st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=5)),
       days_allowed=st.booleans())  # fmt: skip
def test_spans_tile_the_range_and_rollups_hold_only_whole_units(
    start: datetime, length: timedelta, days_allowed: bool
) -> None:
    end = start + length
    spans = plan_spans(start, end, days_allowed)
    assert spans[0].lower == start and spans[-1].upper == end
    for before, after in pairwise(spans):
        assert before.upper == after.lower
    for span in spans:
        assert span.upper is not None and span.lower < span.upper
        if span.source == "hourly":
            assert span.lower.minute == span.lower.second == span.lower.microsecond == 0
            assert span.upper.minute == span.upper.second == span.upper.microsecond == 0
        if span.source == "daily":
            assert days_allowed and span.lower.hour == span.upper.hour == 0
            assert span.lower.minute == span.upper.minute == 0
        if span.source == "raw":
            assert span.upper - span.lower < timedelta(hours=2)
