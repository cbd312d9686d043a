"""The message policy judge's spend read bucket by bucket from the rollups equals the raw sum of its records, for any
range; users' calls and refused calls without a user never count as the judge's."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from gateway_api.accounts.api_keys import issue_key
from gateway_api.accounts.users import create_user
from gateway_api.db.models import Outcome, Scope
from gateway_api.usage import queries
from gateway_api.usage.filters import UsageFilter
from gateway_api.usage.system_actor import (
    JUDGE_ENDPOINT,
    MESSAGE_POLICY_ACTOR,
    NO_USER,
    SystemSpend,
    message_policy_spend,
)
from tests.support.usage_writes import insert_usage

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


@pytest.fixture
def records(engine: Engine) -> list[dict]:
    """300 records over four days: a user's calls, the judge's (some failed) and refused calls of unknown keys."""
    generator = random.Random(23)
    with Session(engine, expire_on_commit=False) as session:
        user = create_user(session, "dana@example.com", None)
        key = issue_key(session, b"pepper", user, {Scope.llm}, name="dana", expires_at=None)[0]
        rows = []
        for _ in range(300):
            kind = generator.choice(["user", "judge", "judge", "refused"])
            rows.append(
                {
                    "created_at": T0 + timedelta(seconds=generator.uniform(0, 4 * 86400)),
                    "user_id": user.id if kind == "user" else None,
                    "api_key_id": key.id if kind == "user" else None,
                    "provider": "anthropic-main",
                    "provider_kind": "anthropic",
                    "model": generator.choice(["claude-haiku-4-5", "claude-sonnet-4-5"]),
                    "endpoint": JUDGE_ENDPOINT if kind == "judge" else "/v1/messages",
                    "outcome": Outcome.refused
                    if kind == "refused"
                    else generator.choice([Outcome.ok, Outcome.ok, Outcome.gateway_error]),
                    "input_tokens": 0 if kind == "refused" else generator.randint(1, 5000),
                    "output_tokens": 0 if kind == "refused" else generator.randint(1, 100),
                    "cost_usd": 0.0 if kind == "refused" else round(generator.random() / 100, 6),
                }
            )
        insert_usage(session, rows[:120])  # two batches, as the recorder writes them
        insert_usage(session, rows[120:])
        session.commit()
    return rows


def _windows() -> list[UsageFilter]:
    generator = random.Random(9)
    windows = [
        UsageFilter(start=T0 + timedelta(hours=3), end=T0 + timedelta(days=3)),  # aligned: rollups only
        UsageFilter(start=T0 + timedelta(minutes=7)),  # open end
        UsageFilter(start=T0 + timedelta(hours=5, minutes=1), end=T0 + timedelta(hours=5, minutes=50)),
        UsageFilter(start=T0 - timedelta(days=3000), end=T0 + timedelta(days=9)),  # too many days to list
    ]
    for _ in range(8):
        start = T0 + timedelta(seconds=generator.uniform(-3600, 3 * 86400))
        windows.append(UsageFilter(start=start, end=start + timedelta(seconds=generator.uniform(60, 2 * 86400))))
    return windows


def _judge_spend(rows: list[dict], window: UsageFilter) -> SystemSpend:
    judged = [
        row
        for row in rows
        if row["endpoint"] == JUDGE_ENDPOINT
        and row["created_at"] >= window.start
        and (window.end is None or row["created_at"] < window.end)
    ]
    return SystemSpend(requests=len(judged), cost_usd=round(sum(row["cost_usd"] for row in judged), 6))


def _rounded(spend: SystemSpend) -> SystemSpend:
    return SystemSpend(spend.requests, round(spend.cost_usd, 6))


@pytest.mark.parametrize("window", _windows())
@pytest.mark.parametrize("now", [T0 + timedelta(days=30), T0 + timedelta(hours=30)], ids=["later", "skewed clock"])
def test_the_judges_spend_equals_the_raw_sum(
    engine: Engine, records: list[dict], window: UsageFilter, now: datetime
) -> None:
    with Session(engine) as session:
        spend = message_policy_spend(session, window, now)
    expected = _judge_spend(records, window)
    assert _rounded(spend) == expected


def test_a_filter_on_users_keys_or_refused_calls_has_no_judge_spend(engine: Engine, records: list[dict]) -> None:
    user_id = next(row["user_id"] for row in records if row["user_id"] is not None)
    now = T0 + timedelta(days=30)
    with Session(engine) as session:
        for scoped in (
            UsageFilter(start=T0, user_ids=(user_id,)),
            UsageFilter(start=T0, api_key_ids=(1,)),
            UsageFilter(start=T0, outcome=Outcome.refused),
        ):
            assert message_policy_spend(session, scoped, now) == SystemSpend()
        failed = message_policy_spend(session, UsageFilter(start=T0, outcome=Outcome.gateway_error), now)
    failed_judged = [r for r in records if r["endpoint"] == JUDGE_ENDPOINT and r["outcome"] is Outcome.gateway_error]
    assert failed.requests == len(failed_judged) > 0


def test_breakdowns_and_charts_name_the_judge_and_refused_calls_apart(engine: Engine, records: list[dict]) -> None:
    window = UsageFilter(start=T0 + timedelta(minutes=7), end=T0 + timedelta(days=4))
    refused = UsageFilter(start=window.start, end=window.end, outcome=Outcome.refused)
    with Session(engine) as session:
        by_user = {row.label: row for row in queries.breakdown(session, window, "user")}
        by_key = {row.label for row in queries.breakdown(session, window, "key")}
        refused_by_user = {row.label for row in queries.breakdown(session, refused, "user")}
        chart = queries.timeseries(session, window, "day", "user", metric="cost_usd", now=T0 + timedelta(days=30))
        spend = message_policy_spend(session, window, T0 + timedelta(days=30))
    assert set(by_user) == {"dana@example.com", MESSAGE_POLICY_ACTOR}
    judge_row = by_user[MESSAGE_POLICY_ACTOR]
    assert judge_row.key == ""
    assert (judge_row.totals.requests, round(judge_row.totals.cost_usd, 6)) == (
        spend.requests,
        round(spend.cost_usd, 6),
    )
    assert MESSAGE_POLICY_ACTOR in by_key
    assert refused_by_user == {NO_USER}
    assert set(chart.series) == {"dana@example.com", MESSAGE_POLICY_ACTOR}
