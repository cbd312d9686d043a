"""Time windows of the limit counters, as integer buckets shared by every replica (wall-clock based).

A rolling window of length L with buckets of width w counts bucket b (events in [b*w, (b+1)*w)) while
(b+1)*w + L is in the future: at most one bucket width of extra history, never less than L, so a limit is
never looser than stated. Budgets use calendar buckets: the UTC day and the UTC month.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

BUCKETS_PER_ROLLING_WINDOW = 48
REQUEST_WINDOW_SECONDS = 60
REQUEST_BUCKET_SECONDS = 5
DAY_SECONDS = 86400


@dataclass(frozen=True, slots=True)
class RollingWindow:
    metric: str
    length: int  # seconds
    width: int  # seconds per bucket

    def buckets(self, now: float) -> range:
        return range(math.floor((now - self.length) / self.width), math.floor(now / self.width) + 1)

    def current(self, now: float) -> int:
        return math.floor(now / self.width)

    def next_bucket_at(self, now: float) -> float:
        return (self.current(now) + 1) * self.width

    def leaves_at(self, bucket: int) -> float:
        """When events of this bucket stop counting."""
        return (bucket + 1) * self.width + self.length


@dataclass(frozen=True, slots=True)
class DailyWindow:
    metric: str = "usd_day"

    def buckets(self, now: float) -> range:
        day = self.current(now)
        return range(day, day + 1)

    def current(self, now: float) -> int:
        return math.floor(now / DAY_SECONDS)

    def next_bucket_at(self, now: float) -> float:
        return (self.current(now) + 1) * DAY_SECONDS

    def leaves_at(self, bucket: int) -> float:
        return (bucket + 1) * DAY_SECONDS


@dataclass(frozen=True, slots=True)
class MonthlyWindow:
    metric: str = "usd_month"

    def buckets(self, now: float) -> range:
        month = self.current(now)
        return range(month, month + 1)

    def current(self, now: float) -> int:
        moment = datetime.fromtimestamp(now, UTC)
        return moment.year * 12 + moment.month - 1

    def next_bucket_at(self, now: float) -> float:
        return self.leaves_at(self.current(now))

    def leaves_at(self, bucket: int) -> float:
        year, month_index = divmod(bucket + 1, 12)
        return datetime(year, month_index + 1, 1, tzinfo=UTC).timestamp()


Window = RollingWindow | DailyWindow | MonthlyWindow


def token_window(metric: str, hours: float) -> RollingWindow:
    length = max(1, round(hours * 3600))
    return RollingWindow(metric, length, max(1, round(length / BUCKETS_PER_ROLLING_WINDOW)))


REQUEST_WINDOW = RollingWindow("req", REQUEST_WINDOW_SECONDS, REQUEST_BUCKET_SECONDS)
DAILY_SPEND_WINDOW = DailyWindow()
MONTHLY_SPEND_WINDOW = MonthlyWindow()


def keep_seconds(window: Window, bucket: int, now: float) -> int:
    """How long a counter for `bucket` must live (its Redis TTL): until it stops counting, plus a margin."""
    return max(1, math.ceil(window.leaves_at(bucket) - now)) + 60


def seconds_until_below(window: Window, buckets: list[tuple[int, float]], limit: float, now: float) -> float:
    """How long until the total of `buckets` (ascending) drops below `limit` as old buckets leave the window."""
    total = sum(value for _, value in buckets)
    if not buckets:
        return max(1.0, window.leaves_at(window.current(now)) - now)
    for bucket, value in buckets:
        total -= value
        if total < limit:
            return max(1.0, window.leaves_at(bucket) - now)
    return max(1.0, window.leaves_at(buckets[-1][0]) - now)


def format_window(seconds: int) -> str:
    """A window's length as people name it: `24h`, `90m`, `7d`."""
    if seconds % DAY_SECONDS == 0 and seconds >= 2 * DAY_SECONDS:
        return f"{seconds // DAY_SECONDS}d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    return format_duration(seconds)


def format_duration(seconds: float) -> str:
    """How long a wait is, as a person says it: "3 hours 12 minutes", "1 minute 5 seconds", "12 days 3 hours".

    The two largest units only, and never "0 seconds" for a wait that is still running.
    """
    total = max(1, math.ceil(seconds))
    days, rest = divmod(total, DAY_SECONDS)
    if days < 2:  # "25 hours 10 minutes" says more than "1 day 1 hour"
        days, rest = 0, total
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return _units((days, "day"), (hours, "hour"))
    if hours:
        return _units((hours, "hour"), (minutes, "minute"))
    if minutes:
        return _units((minutes, "minute"), (secs, "second"))
    return _units((secs, "second"))


def _units(*parts: tuple[int, str]) -> str:
    """ "1 minute 5 seconds": each non-zero count with its unit, singular or plural."""
    return " ".join(f"{count} {unit}{'' if count == 1 else 's'}" for count, unit in parts if count)
