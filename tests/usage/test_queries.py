"""Usage queries on SQLite and PostgreSQL, with a few rows inserted through the usage writer so every number is
exact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from gateway_api.accounts.api_keys import issue_key
from gateway_api.accounts.users import create_user
from gateway_api.db.models import Model, Outcome, Provider, ProviderKind, Scope, UsageRecord, saved_id
from gateway_api.usage import queries
from gateway_api.usage.queries import QueryError, UsageFilter
from tests.support.usage_writes import insert_usage

T0 = datetime(2026, 3, 2, 10, 15, tzinfo=UTC)
START = T0 - timedelta(hours=1)
END = T0 + timedelta(days=2)


@pytest.fixture
def seeded(engine: Engine) -> dict[str, int]:
    """Alice (key "laptop") used Claude twice in one hour; Bob (key "ci") used gpt-5 an hour later and a day later."""
    with Session(engine, expire_on_commit=False) as session:
        alice = create_user(session, "alice@example.com", None)
        bob = create_user(session, "bob@example.com", None)
        laptop, _ = issue_key(session, b"pepper", alice, {Scope.llm}, name="laptop", expires_at=None)
        ci, _ = issue_key(session, b"pepper", bob, {Scope.llm}, name="ci", expires_at=None)

        def row(user, key, when, model, provider, **counts) -> UsageRecord:
            return UsageRecord(
                created_at=when,
                user_id=user.id,
                api_key_id=key.id,
                provider=provider,
                provider_kind=provider,
                model=model,
                endpoint="/v1/messages" if provider == "anthropic" else "/v1/responses",
                **counts,
            )

        insert_usage(
            session,
            [
                row(alice, laptop, T0, "claude-x", "anthropic", input_tokens=100, cache_read_tokens=20,
                    cache_write_tokens=10, output_tokens=50, cost_usd=0.5),
                row(alice, laptop, T0 + timedelta(minutes=30), "claude-x", "anthropic", input_tokens=200,
                    output_tokens=100, cost_usd=1.0),
                row(bob, ci, T0 + timedelta(hours=1), "gpt-5", "openai", input_tokens=1000, cache_read_tokens=400,
                    output_tokens=300, reasoning_tokens=100, cost_usd=2.0),
                row(bob, ci, T0 + timedelta(days=1), "gpt-5", "openai", input_tokens=10, output_tokens=5,
                    cost_usd=0.01, outcome=Outcome.upstream_error, status_code=529),
                row(alice, laptop, T0 - timedelta(days=30), "claude-x", "anthropic", input_tokens=999_999,
                    cost_usd=99.0),
            ]
        )  # fmt: skip
        session.commit()
        return {"alice": alice.id, "bob": bob.id, "laptop": laptop.id, "ci": ci.id, "laptop_prefix": laptop.prefix}


def in_range(**changes: object) -> UsageFilter:
    return UsageFilter(start=START, end=END, **changes)  # type: ignore[arg-type]


def test_summary_respects_every_filter(engine: Engine, seeded: dict[str, int]) -> None:
    with Session(engine) as session:
        everything = queries.summary(session, in_range())
        assert everything == queries.Totals(
            requests=4,
            input_tokens=1310,
            output_tokens=455,
            cache_read_tokens=420,
            cache_write_tokens=10,
            reasoning_tokens=100,
            cost_usd=3.51,
            failed_requests=1,
        )
        alice = queries.summary(session, in_range(user_ids=(seeded["alice"],)))
        assert (alice.requests, alice.input_tokens, alice.output_tokens, alice.cost_usd) == (2, 300, 150, 1.5)
        assert queries.summary(session, in_range(models=("gpt-5",))).requests == 2
        assert queries.summary(session, in_range(api_key_ids=(seeded["laptop"],))).requests == 2
        assert queries.summary(session, in_range(provider="openai")).output_tokens == 305
        assert queries.summary(session, in_range(outcome=Outcome.ok)).requests == 3
        assert queries.summary(session, in_range(outcome=Outcome.ok)).failed_requests == 0
        failed = queries.summary(session, in_range(outcome=Outcome.upstream_error))
        assert (failed.requests, failed.failed_requests) == (1, 1)
        assert queries.summary(session, in_range(user_ids=(seeded["bob"],))).failed_requests == 1
        assert queries.summary(session, in_range(user_ids=(seeded["alice"],), models=("gpt-5",))).requests == 0
        open_ended = queries.summary(session, UsageFilter(start=START - timedelta(days=60)))
        assert open_ended.requests == 5 and open_ended.input_tokens == 1310 + 999_999


def test_records_are_paged_newest_first_with_owner_and_key(engine: Engine, seeded: dict[str, int]) -> None:
    with Session(engine) as session:
        page, total = queries.records(session, in_range(), limit=2, offset=0)
        assert total == 4
        assert [(r.record.model, r.record.output_tokens) for r in page] == [("gpt-5", 5), ("gpt-5", 300)]
        assert (page[0].user_email, page[0].api_key_name) == ("bob@example.com", "ci")
        rest, _ = queries.records(session, in_range(), limit=10, offset=2)
        assert [r.record.output_tokens for r in rest] == [100, 50]
        assert rest[0].api_key_prefix == seeded["laptop_prefix"]
        assert [r.record.output_tokens for r in queries.iter_records(session, in_range(), batch=1)] == [5, 300, 100, 50]


def test_spend_and_requests_over_time_are_one_total_series(engine: Engine, seeded: dict[str, int]) -> None:
    with Session(engine) as session:
        spend = queries.timeseries(session, in_range(), "hour", "token_type", metric="cost_usd")
        requests = queries.timeseries(session, in_range(), "day", "token_type", metric="requests")
    assert spend.series == ["cost_usd"] and len(spend.points) == 50
    by_hour = dict(spend.points)
    assert by_hour[datetime(2026, 3, 2, 10, tzinfo=UTC)] == {"cost_usd": 1.5}
    assert by_hour[datetime(2026, 3, 2, 11, tzinfo=UTC)] == {"cost_usd": 2.0}
    assert by_hour[datetime(2026, 3, 3, 10, tzinfo=UTC)] == {"cost_usd": 0.01}
    assert sum(values["cost_usd"] for _, values in spend.points) == pytest.approx(3.51)
    assert [values["requests"] for _, values in requests.points] == [3, 1, 0]


def test_hourly_token_type_series_fills_every_bucket(engine: Engine, seeded: dict[str, int]) -> None:
    with Session(engine) as session:
        result = queries.timeseries(session, in_range(), "hour", "token_type")
    assert result.series == ["input", "cache_read", "cache_write", "output"]
    assert len(result.points) == 50  # 09:00 on the 2nd through 10:00 on the 4th
    by_time = dict(result.points)
    assert result.points[0][0] == datetime(2026, 3, 2, 9, tzinfo=UTC)
    assert by_time[datetime(2026, 3, 2, 9, tzinfo=UTC)] == {"input": 0, "cache_read": 0, "cache_write": 0, "output": 0}
    # Uncached input = input - cache reads - cache writes, so the four parts add up to all tokens.
    assert by_time[datetime(2026, 3, 2, 10, tzinfo=UTC)] == {
        "input": 270,
        "cache_read": 20,
        "cache_write": 10,
        "output": 150,
    }
    assert by_time[datetime(2026, 3, 2, 11, tzinfo=UTC)] == {
        "input": 600,
        "cache_read": 400,
        "cache_write": 0,
        "output": 300,
    }
    assert by_time[datetime(2026, 3, 3, 10, tzinfo=UTC)]["output"] == 5


def test_daily_series_by_user_key_and_model(engine: Engine, seeded: dict[str, int]) -> None:
    march_2, march_3, march_4 = (datetime(2026, 3, d, tzinfo=UTC) for d in (2, 3, 4))
    with Session(engine) as session:
        by_user = queries.timeseries(session, in_range(), "day", "user")
        by_key = queries.timeseries(session, in_range(), "day", "key", metric="requests")
        by_model_cost = queries.timeseries(session, in_range(), "day", "model", metric="cost_usd")
        top_one = queries.timeseries(session, in_range(), "day", "user", max_series=1)
    assert by_user.series == ["bob@example.com", "alice@example.com"]  # largest first
    assert by_user.points == [
        (march_2, {"bob@example.com": 1300, "alice@example.com": 450}),
        (march_3, {"bob@example.com": 15, "alice@example.com": 0}),
        (march_4, {"bob@example.com": 0, "alice@example.com": 0}),
    ]
    laptop_label = f"laptop ({seeded['laptop_prefix']})"
    assert dict(by_key.points)[march_2] == {laptop_label: 2, by_key.series[0]: 1} and laptop_label in by_key.series
    assert dict(by_model_cost.points)[march_2] == {"gpt-5": 2.0, "claude-x": 1.5}
    assert top_one.series == ["bob@example.com", "other"]
    assert dict(top_one.points)[march_2] == {"bob@example.com": 1300, "other": 450}


def test_breakdown_and_filter_options(engine: Engine, seeded: dict[str, int]) -> None:
    with Session(engine) as session:
        models = queries.breakdown(session, in_range(), "model")
        users = queries.breakdown(session, in_range(), "user")
        options = queries.filter_options(session, in_range())
        alice_options = queries.filter_options(session, in_range(user_ids=(seeded["alice"],)))
    assert [(r.key, r.totals.requests, r.totals.failed_requests, r.totals.cost_usd) for r in models] == [
        ("gpt-5", 2, 1, 2.01),
        ("claude-x", 2, 0, 1.5),
    ]
    assert [r.totals.failed_requests for r in users] == [1, 0]
    assert [(r.label, r.key) for r in users] == [
        ("bob@example.com", str(seeded["bob"])),
        ("alice@example.com", str(seeded["alice"])),
    ]
    assert options.users == [(seeded["alice"], "alice@example.com"), (seeded["bob"], "bob@example.com")]
    assert options.models == ["claude-x", "gpt-5"]
    assert [k[1] for k in options.api_keys] == ["laptop", "ci"]
    assert options.providers == ["anthropic", "openai"]
    assert alice_options.models == ["claude-x"] and [u[1] for u in alice_options.users] == ["alice@example.com"]


def test_too_many_buckets_is_refused_naming_the_parameter(engine: Engine) -> None:
    with Session(engine) as session, pytest.raises(QueryError) as problem:
        queries.timeseries(session, UsageFilter(start=START, end=START + timedelta(days=365)), "hour", "token_type")
    assert problem.value.field == "bucket"


def test_models_without_a_price_are_named(engine: Engine, seeded: dict[str, int]) -> None:
    """claude-x has no price (its calls cost $0 whatever they used); gpt-5 is priced; a model that is not in the
    records is never named, priced or not."""
    with Session(engine) as session:
        provider = Provider(name="p", kind=ProviderKind.openai, base_url="http://127.0.0.1:9")
        session.add(provider)
        session.flush()
        session.add(Model(provider_id=saved_id(provider), name="claude-x"))
        session.add(Model(provider_id=saved_id(provider), name="gpt-5", price_input=1.25, price_output=10.0))
        session.add(Model(provider_id=saved_id(provider), name="unused"))
        session.commit()
        assert queries.unpriced_models(session, in_range()) == ["claude-x"]
        assert queries.unpriced_models(session, in_range(models=("gpt-5",))) == []
        half = session.exec(select(Model).where(Model.name == "gpt-5")).one()
        half.price_output = None
        session.add(half)
        session.commit()
        assert queries.unpriced_models(session, in_range()) == ["claude-x", "gpt-5"]
