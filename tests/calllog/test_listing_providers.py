"""A provider's calls are listed model by model through the model index (migration 0014 dropped the provider
index): exactly the rows and the order that walking every row gives, page after page, whatever else is filtered,
and the same when a provider has too many models to walk one by one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, text
from sqlmodel import Session, col, select

from gateway_api.calllog import listing
from gateway_api.calllog.listing import CallFilter, decode_cursor, model_walk, page
from gateway_api.db.models import Outcome, UsageRecord
from tests.support.usage_writes import insert_usage

T0 = datetime(2026, 12, 5, 0, 0, tzinfo=UTC)
PROVIDERS = ("anthropic-main", "anthropic-eu", "anthropic-old", "anthropic", "openai", "no-such-provider")


def _row(second: int, provider: str, model: str, **extra: Any) -> dict[str, Any]:
    return {
        "created_at": T0 - timedelta(seconds=second),
        "provider": provider,
        "provider_kind": "anthropic",
        "model": model,
        "endpoint": "messages",
        "status_code": 200,
        **extra,
    }


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    """Three models of one provider interleaved in time (pairs sharing a second: the cursor must neither skip nor
    repeat), a model another provider had before (moved), a small provider, and refused calls whose provider is
    the route's kind and whose model is whatever the client sent (or none)."""
    rows = [_row(i // 2, "anthropic-main", ("a", "b", "c")[i % 3]) for i in range(40)]
    rows += [_row(5 + i * 7, "anthropic-old", "b") for i in range(4)]
    rows += [_row(3 + i * 11, "anthropic-eu", "d") for i in range(3)]
    refused = {"status_code": 404, "outcome": Outcome.refused, "refusal_reason": "unknown model"}
    rows += [_row(1 + i * 5, "anthropic", f"made-up-{i % 2}", **refused) for i in range(6)]
    rows += [_row(2 + i * 3, "anthropic", "", status_code=401, outcome=Outcome.refused) for i in range(5)]
    rows += [_row(4 + i * 3, "openai", "", status_code=401, outcome=Outcome.refused) for i in range(5)]
    with Session(engine) as session:
        insert_usage(session, rows)
        session.commit()
    return engine


def _listed(engine: Engine, call_filter: CallFilter, limit: int) -> list[int]:
    """Every page in turn, through the cursor; the ids in the order listed."""
    ids: list[int] = []
    after = None
    while True:
        with Session(engine) as session:
            rows, cursor = page(session, call_filter, limit, after)
        ids += [row.id for row in rows if row.id is not None]
        if cursor is None:
            return ids
        after = decode_cursor(cursor)


def _every_row(engine: Engine, call_filter: CallFilter) -> list[int]:
    """What the listing must give: every matching row, read without any index choice of the listing's own."""
    with Session(engine) as session:
        statement = (
            select(UsageRecord.id)
            .where(*call_filter.conditions(session))
            .order_by(col(UsageRecord.created_at).desc(), col(UsageRecord.id).desc())
        )
        return [row_id for row_id in session.exec(statement) if row_id is not None]


@pytest.mark.parametrize("limit", [1, 4, 100])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_provider_lists_exactly_its_calls_newest_first_page_after_page(
    seeded: Engine, provider: str, limit: int
) -> None:
    call_filter = CallFilter(provider=provider)
    assert _listed(seeded, call_filter, limit) == _every_row(seeded, call_filter)


@pytest.mark.parametrize(
    "call_filter",
    [
        CallFilter(provider="anthropic-main", start=T0 - timedelta(seconds=10), end=T0 - timedelta(seconds=2)),
        CallFilter(provider="anthropic", outcome=Outcome.refused, status=404),
        CallFilter(provider="anthropic", text="made-up-1"),
        CallFilter(provider="anthropic-main", model="b"),
        CallFilter(provider="anthropic-old", model="b"),
    ],
)
def test_a_provider_with_other_filters(seeded: Engine, call_filter: CallFilter) -> None:
    expected = _every_row(seeded, call_filter)
    assert expected, "the case must list something"
    assert _listed(seeded, call_filter, 3) == expected


def test_a_provider_with_more_models_than_walked_one_by_one_walks_the_time_index(
    seeded: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listing, "MAX_PROVIDER_MODELS", 2)
    for provider in ("anthropic-main", "anthropic"):  # three models each
        call_filter = CallFilter(provider=provider)
        assert _listed(seeded, call_filter, 4) == _every_row(seeded, call_filter)


def test_a_model_of_a_provider_is_walked_through_the_model_index(engine: Engine) -> None:
    with Session(engine) as session:
        statement = model_walk(CallFilter(provider="anthropic-main").conditions(session), "a", 101)
        sql = str(statement.compile(engine, compile_kwargs={"literal_binds": True}))
        connection = session.connection()
        if engine.dialect.name == "sqlite":
            plan = " ".join(str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
        else:
            connection.execute(text("SET LOCAL enable_seqscan = off"))
            plan = " ".join(str(row[0]) for row in connection.exec_driver_sql(f"EXPLAIN {sql}"))
    assert "ix_usage_model_time" in plan


def test_the_usage_records_have_no_provider_index(engine: Engine) -> None:
    names = {index["name"] for index in inspect(engine).get_indexes("usagerecord")}
    assert "ix_usage_model_time" in names
    assert "ix_usage_provider_time" not in names
