"""The hourly and daily usage rollups stay equal to the raw records, whoever writes, deletes or updates them."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import Engine, delete, insert, update
from sqlmodel import Session, col, select

from gateway_api.db.engine import alembic_config, make_engine, upgrade_database
from gateway_api.db.models import (
    Outcome,
    UsageDaily,
    UsageHourly,
    UsageModelDaily,
    UsageModelHourly,
    UsageRecord,
)

T0 = datetime(2026, 3, 2, 22, 50, tzinfo=UTC)
SUMS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens")


def _random_rows(count: int, seed: int) -> list[dict]:
    generator = random.Random(seed)
    return [
        {
            "created_at": T0 + timedelta(minutes=generator.randint(-300, 3000), microseconds=generator.randint(0, 999)),
            "user_id": generator.choice([None, 1, 2, 3]),
            "api_key_id": generator.choice([None, 10, 11]),
            "provider": generator.choice(["anthropic", "openai"]),
            "provider_kind": "anthropic",
            "model": generator.choice(["m1", "m2"]),
            "endpoint": "/v1/messages",
            "outcome": generator.choice(list(Outcome)),
            "input_tokens": generator.randint(0, 3_000_000_000 // count),
            "output_tokens": generator.randint(0, 5000),
            "cache_read_tokens": generator.randint(0, 100),
            "cache_write_tokens": generator.randint(0, 100),
            "reasoning_tokens": generator.randint(0, 100),
            "cost_usd": round(generator.random(), 6),
        }
        for _ in range(count)
    ]


def _floor(moment: datetime, unit: str) -> datetime:
    moment = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if unit == "day" else moment


def _expected(session: Session, unit: str, per_user_and_key: bool = True) -> dict[tuple, tuple]:
    """The rollup computed in Python from every raw record in the table."""
    groups: dict[tuple, list] = defaultdict(lambda: [0, 0, 0, 0, 0, 0, 0.0])
    for record in session.exec(select(UsageRecord)):
        ids = (record.user_id or 0, record.api_key_id or 0) if per_user_and_key else ()
        key = (_floor(record.created_at, unit), *ids, record.provider, record.model, str(record.outcome))
        sums = groups[key]
        sums[0] += 1
        for index, name in enumerate(SUMS, start=1):
            sums[index] += getattr(record, name)
        sums[6] += record.cost_usd
    return {key: (*sums[:6], round(sums[6], 9)) for key, sums in groups.items()}


def _stored(session: Session, table: type[UsageHourly | UsageDaily | UsageModelHourly | UsageModelDaily]) -> dict:
    def key(r: UsageHourly | UsageDaily | UsageModelHourly | UsageModelDaily) -> tuple:
        ids = (r.user_id, r.api_key_id) if isinstance(r, UsageHourly | UsageDaily) else ()
        return (r.bucket_start, *ids, r.provider, r.model, r.outcome)

    return {
        key(r): (
            r.requests,
            *(getattr(r, name) for name in SUMS),
            round(r.cost_usd, 9),
        )
        for r in session.exec(select(table))
    }


def _assert_rollups_match(engine: Engine) -> None:
    with Session(engine) as session:
        assert _stored(session, UsageHourly) == _expected(session, "hour")
        assert _stored(session, UsageDaily) == _expected(session, "day")
        assert _stored(session, UsageModelHourly) == _expected(session, "hour", per_user_and_key=False)
        assert _stored(session, UsageModelDaily) == _expected(session, "day", per_user_and_key=False)


def test_orm_and_batch_inserts_deletes_and_updates_keep_the_rollups_exact(engine: Engine) -> None:
    with Session(engine) as session:
        session.add_all(UsageRecord(**row) for row in _random_rows(40, seed=1))
        session.commit()
        session.execute(insert(UsageRecord), _random_rows(300, seed=2))  # the recorder's batch path
        session.commit()
    _assert_rollups_match(engine)
    with Session(engine) as session:
        ids = sorted(session.exec(select(UsageRecord.id)).all())
        session.execute(delete(UsageRecord).where(col(UsageRecord.id).in_(ids[::3])))
        session.execute(
            update(UsageRecord)
            .where(col(UsageRecord.id).in_(ids[1::5]))
            .values(created_at=T0 + timedelta(days=3), model="m3", user_id=None, input_tokens=7)
        )
        session.commit()
    _assert_rollups_match(engine)
    with Session(engine) as session:
        session.execute(delete(UsageRecord))
        session.commit()
        # Groups whose last record went are removed, not left at zero (the filter pickers read the rollups).
        for table in (UsageHourly, UsageDaily, UsageModelHourly, UsageModelDaily):
            assert session.exec(select(table)).all() == []


def test_the_migration_backfills_the_rollups_from_existing_records(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        command.upgrade(alembic_config(engine), "0003")
        with Session(engine) as session:
            session.execute(insert(UsageRecord), _random_rows(200, seed=3))
            session.commit()
        upgrade_database(engine)
        _assert_rollups_match(engine)
        with Session(engine) as session:  # and the triggers are on from then on
            session.execute(insert(UsageRecord), _random_rows(50, seed=4))
            session.commit()
        _assert_rollups_match(engine)
    finally:
        engine.dispose()
