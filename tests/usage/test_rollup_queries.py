"""Queries answered from the rollups plus raw edge hours equal sums over the raw records, for any range and filter."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, delete
from sqlmodel import Session, col

from gateway_api.accounts.api_keys import issue_key
from gateway_api.accounts.users import create_user
from gateway_api.db.models import Outcome, Scope, UsageRecord
from gateway_api.usage import queries
from gateway_api.usage.queries import UsageFilter
from tests.support.usage_writes import insert_usage

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
MODELS = ("claude-x", "gpt-5", "o3")


@pytest.fixture
def records(engine: Engine) -> list[dict]:
    """400 records over four days at random microseconds, some without user or key; then a few deleted."""
    generator = random.Random(11)
    with Session(engine, expire_on_commit=False) as session:
        users = [create_user(session, f"u{i}@example.com", None) for i in range(3)]
        keys = [issue_key(session, b"pepper", u, {Scope.llm}, name=f"k{u.id}", expires_at=None)[0] for u in users]
        rows = []
        for _ in range(400):
            owner = generator.randrange(4)  # 3: no user, no key
            rows.append(
                {
                    "created_at": T0 + timedelta(seconds=generator.uniform(0, 4 * 86400)),
                    "user_id": users[owner].id if owner < 3 else None,
                    "api_key_id": keys[owner].id if owner < 3 else None,
                    "provider": "anthropic" if owner % 2 else "openai",
                    "provider_kind": "anthropic",
                    "model": generator.choice(MODELS),
                    "endpoint": "/v1/messages",
                    "outcome": generator.choice([Outcome.ok, Outcome.ok, Outcome.upstream_error]),
                    "input_tokens": generator.randint(0, 10_000),
                    "output_tokens": generator.randint(0, 2000),
                    "cache_read_tokens": generator.randint(0, 500),
                    "cache_write_tokens": generator.randint(0, 500),
                    "reasoning_tokens": generator.randint(0, 100),
                    "cost_usd": round(generator.random(), 6),
                }
            )
        insert_usage(session, rows[:150])  # two batches, as the recorder writes them
        insert_usage(session, rows[150:])
        session.execute(delete(UsageRecord).where(col(UsageRecord.id) % 17 == 0))
        session.commit()
        kept = session.exec(UsageRecord.__table__.select()).mappings().all()  # type: ignore[attr-defined]
        return [dict(row) for row in kept]


def _windows() -> list[UsageFilter]:
    generator = random.Random(5)
    windows = [
        UsageFilter(start=T0 + timedelta(hours=3), end=T0 + timedelta(days=3)),  # aligned: rollups only
        UsageFilter(start=T0 + timedelta(minutes=7)),  # open end
        UsageFilter(start=T0 + timedelta(hours=5, minutes=1), end=T0 + timedelta(hours=5, minutes=50)),
    ]
    for _ in range(12):
        start = T0 + timedelta(seconds=generator.uniform(-3600, 3 * 86400))
        end = start + timedelta(seconds=generator.uniform(60, 2 * 86400))
        windows.append(UsageFilter(start=start, end=end))
    return windows


def _matching(rows: list[dict], usage_filter: UsageFilter, **extra: object) -> list[dict]:
    def keep(row: dict) -> bool:
        moment = row["created_at"]
        inside = moment >= usage_filter.start and (usage_filter.end is None or moment < usage_filter.end)
        return inside and all(row[name] in values for name, values in extra.items())  # type: ignore[operator]

    return [row for row in rows if keep(row)]


def _totals(rows: list[dict]) -> tuple:
    fields = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens")
    return (len(rows), *(sum(r[name] for r in rows) for name in fields), round(sum(r["cost_usd"] for r in rows), 6))


def _as_tuple(totals: queries.Totals) -> tuple:
    return (
        totals.requests, totals.input_tokens, totals.output_tokens, totals.cache_read_tokens,
        totals.cache_write_tokens, totals.reasoning_tokens, round(totals.cost_usd, 6),
    )  # fmt: skip


@pytest.mark.parametrize("window", _windows())
def test_summary_and_breakdowns_equal_the_raw_sums(engine: Engine, records: list[dict], window: UsageFilter) -> None:
    with Session(engine) as session:
        assert _as_tuple(queries.summary(session, window)) == _totals(_matching(records, window))
        by_model = {row.key: _as_tuple(row.totals) for row in queries.breakdown(session, window, "model")}
        by_user = {row.key: _as_tuple(row.totals) for row in queries.breakdown(session, window, "user")}
        gpt = UsageFilter(start=window.start, end=window.end, models=("gpt-5",), outcome=Outcome.ok)
        filtered = queries.summary(session, gpt)
        page, total = queries.records(session, window, limit=5, offset=0)
    expected_models = defaultdict(list)
    expected_users = defaultdict(list)
    for row in _matching(records, window):
        expected_models[row["model"]].append(row)
        expected_users["" if row["user_id"] is None else str(row["user_id"])].append(row)
    assert by_model == {model: _totals(rows) for model, rows in expected_models.items()}
    assert by_user == {user: _totals(rows) for user, rows in expected_users.items()}
    assert _as_tuple(filtered) == _totals(_matching(records, window, model={"gpt-5"}, outcome={Outcome.ok}))
    assert total == len(_matching(records, window)) and len(page) == min(5, total)


@pytest.mark.parametrize("window", _windows()[:8])
@pytest.mark.parametrize("bucket", ["hour", "day"])
def test_time_series_equal_the_raw_sums_per_bucket(
    engine: Engine, records: list[dict], window: UsageFilter, bucket: queries.Bucket
) -> None:
    now = T0 + timedelta(days=5)
    with Session(engine) as session:
        token_types = queries.timeseries(session, window, bucket, "token_type", now=now)
        by_key = queries.timeseries(session, window, bucket, "key", metric="requests", now=now)
    expected: dict[datetime, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    requests: dict[datetime, int] = defaultdict(int)
    for row in _matching(records, window):
        moment = queries.floor_to_bucket(row["created_at"], bucket)
        sums = expected[moment]
        sums[0] += row["input_tokens"] - row["cache_read_tokens"] - row["cache_write_tokens"]
        sums[1] += row["cache_read_tokens"]
        sums[2] += row["cache_write_tokens"]
        sums[3] += row["output_tokens"]
        requests[moment] += 1
    for moment, values in token_types.points:
        assert [values[name] for name in queries.TOKEN_TYPE_SERIES] == [
            max(expected[moment][0], 0),
            *expected[moment][1:],
        ]
    assert {moment: sum(values.values()) for moment, values in by_key.points if sum(values.values())} == dict(requests)


def test_filter_options_list_what_the_range_holds(engine: Engine, records: list[dict]) -> None:
    window = UsageFilter(start=T0 + timedelta(hours=30, minutes=20), end=T0 + timedelta(hours=31, minutes=40))
    inside = _matching(records, window)
    with Session(engine) as session:
        options = queries.filter_options(session, window)
    assert options.models == sorted({row["model"] for row in inside})
    assert options.providers == sorted({row["provider"] for row in inside})
    assert {user_id for user_id, _ in options.users} == {row["user_id"] for row in inside} - {None}
    assert {key[0] for key in options.api_keys} == {row["api_key_id"] for row in inside} - {None}


@pytest.mark.parametrize("group_by", ["user", "key", "model"])
@pytest.mark.parametrize("bucket", ["hour", "day"])
def test_series_beyond_the_largest_are_folded_into_other_exactly(
    engine: Engine, records: list[dict], group_by: str, bucket: queries.Bucket
) -> None:
    window = UsageFilter(start=T0 + timedelta(hours=7, minutes=13), end=T0 + timedelta(days=2, hours=3, minutes=1))
    column = {"user": "user_id", "key": "api_key_id", "model": "model"}[group_by]
    with Session(engine) as session:
        folded = queries.timeseries(session, window, bucket, group_by, metric="cost_usd", max_series=2)  # type: ignore[arg-type]
        full = queries.timeseries(session, window, bucket, group_by, metric="cost_usd", max_series=50)  # type: ignore[arg-type]
    inside = _matching(records, window)
    per_value: dict[object, float] = defaultdict(float)
    for row in inside:
        per_value[row[column]] += row["cost_usd"]
    assert len(full.series) == len(per_value) and "other" not in full.series  # None (no user/key) is a series too
    largest = sorted(full.series, key=lambda name: -sum(values[name] for _, values in full.points))[:2]
    assert folded.series == [*largest, "other"]
    for (moment, values), (_, every) in zip(folded.points, full.points, strict=True):
        assert values[largest[0]] == every[largest[0]] and values[largest[1]] == every[largest[1]]
        rest = sum(value for name, value in every.items() if name not in largest)
        assert values["other"] == pytest.approx(rest, abs=1e-9), moment
