"""What the limiter counts after each call: every call, in the buckets of the moment it finished, even though
`count` only tallies and the counters are brought up to date when read, flushed or a bucket boundary passes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gateway_api.core.settings import Settings
from gateway_api.db.engine import make_engine
from gateway_api.limits import limiter as limiter_module
from gateway_api.limits.limiter import Limiter
from gateway_api.limits.rules import LimitKind, key_subject, user_subject
from gateway_api.usage.rows import UsageRow
from tests.support.usage_rows import make_usage_row


class Clock:
    """time.time() of the limiter module, set by the test: bucket boundaries are wall-clock times."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock(1_790_000_000.0)
    monkeypatch.setattr(limiter_module, "time", clock)
    return clock


@pytest.fixture
def limiter(tmp_path: Path) -> Limiter:
    settings = Settings(data_dir=tmp_path, token_quota_window_hours=24)
    return Limiter(settings, make_engine(f"sqlite:///{tmp_path / 'limits.db'}"))


def row(user_id: int | None, key_id: int | None, input_tokens: int, output_tokens: int, cost: float) -> UsageRow:
    return make_usage_row(
        user_id=user_id, api_key_id=key_id, input_tokens=input_tokens, output_tokens=output_tokens, cost_usd=cost
    )


def used(limiter: Limiter, subject: str) -> dict[LimitKind, float]:
    return asyncio.run(limiter.used([subject]))[subject]


def test_every_call_is_counted_for_its_user_and_key(clock: Clock, limiter: Limiter) -> None:
    for _ in range(3):
        limiter.count(row(7, 70, 100, 10, 0.5))
        clock.now += 1
    limiter.count(row(7, 71, 1, 2, 0.25))
    limiter.count(row(8, None, 5, 5, 1.0))
    limiter.count(row(None, None, 9, 9, 9.0))

    user = used(limiter, user_subject(7))
    assert (user[LimitKind.input_tokens], user[LimitKind.output_tokens]) == (301, 32)
    assert user[LimitKind.daily_spend] == user[LimitKind.monthly_spend] == pytest.approx(1.75)
    assert used(limiter, key_subject(70))[LimitKind.input_tokens] == 300
    assert used(limiter, key_subject(71))[LimitKind.output_tokens] == 2
    assert used(limiter, user_subject(8))[LimitKind.daily_spend] == pytest.approx(1.0)


def test_calls_on_either_side_of_a_bucket_boundary_land_in_their_own_buckets(clock: Clock, limiter: Limiter) -> None:
    window = limiter.windows[LimitKind.input_tokens]
    boundary = window.next_bucket_at(clock.now)
    before, after = window.current(boundary - 1), window.current(boundary)

    clock.now = boundary - 0.01
    limiter.count(row(7, 70, 100, 0, 0.0))
    clock.now = boundary + 0.01
    limiter.count(row(7, 70, 20, 0, 0.0))
    limiter.count(row(7, 70, 3, 0, 0.0))

    assert asyncio.run(limiter.used([user_subject(7)]))  # reading brings the counters up to date
    counted = limiter._local.read(user_subject(7), window, clock.now)
    assert counted == [(before, 100.0), (after, 23.0)]


def test_a_day_that_ends_between_two_calls_starts_the_next_days_budget(clock: Clock, limiter: Limiter) -> None:
    daily = limiter.windows[LimitKind.daily_spend]
    midnight = daily.next_bucket_at(clock.now)
    clock.now = midnight - 0.5
    limiter.count(row(7, None, 0, 0, 2.0))
    clock.now = midnight + 0.5
    limiter.count(row(7, None, 0, 0, 0.5))

    monthly = limiter.windows[LimitKind.monthly_spend]
    assert monthly.current(midnight - 0.5) == monthly.current(midnight + 0.5)  # a day boundary inside the month
    spent = used(limiter, user_subject(7))
    assert spent[LimitKind.daily_spend] == pytest.approx(0.5)
    assert spent[LimitKind.monthly_spend] == pytest.approx(2.5)
