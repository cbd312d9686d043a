"""The call log's partial listing indexes (migration 0013) are the ones its queries walk: a filter for a value an
index holds repeats the index's condition, which SQLite needs to use it; a filter for the value it leaves out walks
the time index. Rows of every kind are still found."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from gateway_api.calllog.listing import CallFilter, page
from gateway_api.calllog.retention import _old_refusals
from gateway_api.db.models import Outcome, UsageRecord
from tests.support.usage_writes import insert_usage

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _plan(engine: Engine, call_filter: CallFilter) -> str:
    with Session(engine) as session:
        statement = (
            select(UsageRecord)
            .where(*call_filter.conditions(session))
            .order_by(col(UsageRecord.created_at).desc(), col(UsageRecord.id).desc())
            .limit(101)
        )
        return _explain(engine, session, str(statement.compile(engine, compile_kwargs={"literal_binds": True})))


def _explain(engine: Engine, session: Session, sql: str) -> str:
    connection = session.connection()
    if engine.dialect.name == "sqlite":
        return " ".join(str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
    # A test table is small enough that PostgreSQL would read all of it: what matters is which index it can use.
    connection.execute(text("SET LOCAL enable_seqscan = off"))
    return " ".join(str(row[0]) for row in connection.exec_driver_sql(f"EXPLAIN {sql}"))


@pytest.mark.parametrize(
    ("call_filter", "index"),
    [
        (CallFilter(status=503), "ix_usage_status_time"),
        (CallFilter(status=429), "ix_usage_status_time"),
        (CallFilter(outcome=Outcome.refused), "ix_usage_outcome_time"),
        (CallFilter(outcome=Outcome.upstream_error), "ix_usage_outcome_time"),
        (CallFilter(session_id="s-1"), "ix_usage_session_time"),
    ],
)
def test_a_filter_for_what_a_partial_index_holds_walks_it(engine: Engine, call_filter: CallFilter, index: str) -> None:
    assert index in _plan(engine, call_filter)


@pytest.mark.parametrize("call_filter", [CallFilter(status=200), CallFilter(outcome=Outcome.ok)])
def test_a_filter_for_the_value_an_index_leaves_out_walks_the_time_index(
    engine: Engine, call_filter: CallFilter
) -> None:
    plan = _plan(engine, call_filter)
    assert "ix_usage_status_time" not in plan and "ix_usage_outcome_time" not in plan
    if engine.dialect.name == "sqlite":
        assert "ix_usagerecord_created_at" in plan


def test_retention_walks_the_partial_outcome_index(engine: Engine) -> None:
    with Session(engine) as session:
        statement = _old_refusals(T0, 1000).compile(engine, compile_kwargs={"literal_binds": True})
        assert "ix_usage_outcome_time" in _explain(engine, session, str(statement))


def test_every_kind_of_row_is_listed_under_each_filter(engine: Engine) -> None:
    kinds = [
        {"status_code": 200, "outcome": Outcome.ok, "session_id": None},
        {"status_code": 200, "outcome": Outcome.ok, "session_id": "s-1"},
        {"status_code": 429, "outcome": Outcome.refused, "session_id": None},
        {"status_code": 502, "outcome": Outcome.upstream_error, "session_id": "s-1"},
    ]
    with Session(engine) as session:
        insert_usage(
            session,
            [
                {
                    "created_at": T0 + timedelta(seconds=i),
                    "provider": "anthropic",
                    "provider_kind": "anthropic",
                    "model": "m",
                    "endpoint": "messages",
                    **kind,
                }
                for i, kind in enumerate(kinds * 3)
            ],
        )
        session.commit()

    def listed(call_filter: CallFilter) -> list[tuple[int, Outcome, str | None]]:
        with Session(engine) as session:
            rows, _ = page(session, call_filter, 100)
        return [(row.status_code, row.outcome, row.session_id) for row in rows]

    assert len(listed(CallFilter(status=200))) == 6
    assert listed(CallFilter(status=429)) == [(429, Outcome.refused, None)] * 3
    assert listed(CallFilter(status=503)) == []
    assert len(listed(CallFilter(outcome=Outcome.ok))) == 6
    assert listed(CallFilter(outcome=Outcome.upstream_error)) == [(502, Outcome.upstream_error, "s-1")] * 3
    assert [status for status, _, _ in listed(CallFilter(session_id="s-1"))] == [502, 200] * 3
