"""Retention: bodies and refused calls' rows older than the setting go, in batches, by one replica at a time;
forwarded calls' rows (the usage figures) stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from gateway_api.calllog.retention import LEASE, prune, take_lease
from gateway_api.db.models import CallBody, Outcome, UsageHourly, UsageRecord
from tests.support.usage_writes import insert_usage

NOW = datetime.now(UTC).replace(microsecond=0)


def _seed(engine: Engine) -> None:
    rows = []
    for age_days, outcome, count in ((120, Outcome.refused, 25), (120, Outcome.ok, 4), (10, Outcome.refused, 3)):
        for i in range(count):
            rows.append(
                UsageRecord(
                    created_at=NOW - timedelta(days=age_days, minutes=i), provider="anthropic",
                    provider_kind="anthropic", model="m", endpoint="messages", outcome=outcome,
                    status_code=401 if outcome is Outcome.refused else 200, call_id=f"{age_days}-{outcome}-{i}",
                    input_tokens=0 if outcome is Outcome.refused else 10,
                )
            )  # fmt: skip
    with Session(engine) as session:
        insert_usage(session, rows)
        for age_days, count in ((120, 7), (10, 2)):
            for i in range(count):
                session.add(
                    CallBody(call_id=f"b-{age_days}-{i}", created_at=NOW - timedelta(days=age_days), sealed=b"x")
                )
        session.commit()


def _counts(engine: Engine) -> tuple[int, int, int, int]:
    with Session(engine) as session:
        refused = session.exec(
            select(func.count()).select_from(UsageRecord).where(col(UsageRecord.outcome) == Outcome.refused)
        ).one()
        forwarded = session.exec(
            select(func.count()).select_from(UsageRecord).where(col(UsageRecord.outcome) != Outcome.refused)
        ).one()
        bodies = session.exec(select(func.count()).select_from(CallBody)).one()
        rolled_up_input = session.exec(select(func.sum(UsageHourly.input_tokens))).one()
    return refused, forwarded, bodies, int(rolled_up_input or 0)


def test_old_bodies_and_refused_rows_are_pruned_in_batches(engine: Engine) -> None:
    _seed(engine)
    assert _counts(engine) == (28, 4, 9, 40)

    deleted = prune(engine, retention_days=90, holder="replica-a", now=NOW, batch=4)

    assert deleted == 25 + 7
    assert _counts(engine) == (3, 4, 2, 40)  # the usage figures stay, in the records and the rollups
    assert prune(engine, retention_days=90, holder="replica-a", now=NOW, batch=4) == 0


def test_one_replica_at_a_time_prunes(engine: Engine) -> None:
    _seed(engine)
    assert take_lease(engine, "replica-a", NOW)  # replica a is pruning (or died while it was)

    assert prune(engine, retention_days=90, holder="replica-b", now=NOW) == 0
    assert _counts(engine)[0] == 28
    assert take_lease(engine, "replica-a", NOW)  # its own lease: extended

    # A lease that was not given back expires: another replica takes over.
    assert prune(engine, retention_days=90, holder="replica-b", now=NOW + LEASE + timedelta(seconds=1)) == 32
    # b gave its lease back at the end of its run: a may take it at once.
    assert take_lease(engine, "replica-a", datetime.now(UTC) + timedelta(milliseconds=1))
