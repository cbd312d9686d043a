"""Time buckets of the limit counters: what counts now, when it stops counting, how waits are written."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway_api.limits.windows import (
    DAILY_SPEND_WINDOW,
    MONTHLY_SPEND_WINDOW,
    REQUEST_WINDOW,
    format_duration,
    format_window,
    seconds_until_below,
    token_window,
)

NOW = datetime(2026, 3, 31, 21, 47, 30, tzinfo=UTC).timestamp()


def test_a_rolling_window_counts_at_least_its_length_and_at_most_one_bucket_more() -> None:
    window = token_window("in", 24)
    assert (window.length, window.width) == (86400, 1800)
    buckets = window.buckets(NOW)
    oldest_start = buckets.start * window.width
    assert NOW - window.length - window.width < oldest_start <= NOW - window.length
    assert buckets[-1] == window.current(NOW)
    assert window.leaves_at(buckets.start) > NOW  # the oldest bucket still counts
    assert window.leaves_at(buckets.start - 1) <= NOW  # the one before it no longer does


def test_calendar_windows_reset_at_utc_midnight_and_at_the_first_of_the_month() -> None:
    day = DAILY_SPEND_WINDOW.current(NOW)
    assert DAILY_SPEND_WINDOW.leaves_at(day) == datetime(2026, 4, 1, tzinfo=UTC).timestamp()
    month = MONTHLY_SPEND_WINDOW.current(NOW)
    assert MONTHLY_SPEND_WINDOW.leaves_at(month) == datetime(2026, 4, 1, tzinfo=UTC).timestamp()
    december = MONTHLY_SPEND_WINDOW.current(datetime(2026, 12, 15, tzinfo=UTC).timestamp())
    assert MONTHLY_SPEND_WINDOW.leaves_at(december) == datetime(2027, 1, 1, tzinfo=UTC).timestamp()


def test_the_wait_is_until_enough_old_use_leaves_the_window() -> None:
    window = REQUEST_WINDOW  # 60 s in 5 s buckets
    current = window.current(NOW)
    reading = [(current - 10, 2.0), (current - 4, 1.0), (current, 1.0)]
    # Limit 3 with 4 used: dropping the oldest bucket (2) is enough.
    assert seconds_until_below(window, reading, 3, NOW) == window.leaves_at(current - 10) - NOW
    # Limit 2: the oldest two buckets must go.
    assert seconds_until_below(window, reading, 2, NOW) == window.leaves_at(current - 4) - NOW
    # A limit of 0 is never "below"; the wait is until everything counted now is gone.
    assert seconds_until_below(window, reading, 0, NOW) == window.leaves_at(current) - NOW


def test_durations_read_like_a_person_would_write_them() -> None:
    assert format_duration(0.2) == "1 second"
    assert format_duration(45) == "45 seconds"
    assert format_duration(60) == "1 minute"
    assert format_duration(65) == "1 minute 5 seconds"
    assert format_duration(125) == "2 minutes 5 seconds"
    assert format_duration(3 * 3600 + 12 * 60 + 5) == "3 hours 12 minutes"
    assert format_duration(3600 + 60) == "1 hour 1 minute"
    assert format_duration(86400 + 1800) == "24 hours 30 minutes"
    assert format_duration(2 * 86400) == "2 days"
    assert format_duration(12 * 86400 + 3 * 3600 + 59) == "12 days 3 hours"


def test_windows_are_named_in_the_largest_whole_unit() -> None:
    assert [format_window(s) for s in (86400, 3600, 5400, 7 * 86400)] == ["24h", "1h", "1 hour 30 minutes", "7d"]


def test_the_next_bucket_starts_where_the_current_one_ends() -> None:
    for window in (token_window("in", 24), REQUEST_WINDOW, DAILY_SPEND_WINDOW, MONTHLY_SPEND_WINDOW):
        boundary = window.next_bucket_at(NOW)
        assert boundary > NOW
        assert window.current(boundary - 0.001) == window.current(NOW)
        assert window.current(boundary) == window.current(NOW) + 1
    assert MONTHLY_SPEND_WINDOW.next_bucket_at(NOW) == datetime(2026, 4, 1, tzinfo=UTC).timestamp()
