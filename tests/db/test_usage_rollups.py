"""The hourly and daily usage rollups stay equal to the raw records: inserted through the usage writer, deleted or
updated by hand (the triggers), backfilled by migration 0004; and the writer stores them as 0004's trigger did."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta, timezone

from alembic import command
from sqlalchemy import Engine, MetaData, Table, delete, insert, update
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
from gateway_api.usage.writer import CALL_LOG_COLUMNS
from tests.support.usage_writes import insert_usage

T0 = datetime(2026, 3, 2, 22, 50, tzinfo=UTC)
ROLLUP_TABLES = ("usagehourly", "usagedaily", "usagemodelhourly", "usagemodeldaily")
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
            # "refused" is migration 0010's: these rows are also written at revision 0004.
            "outcome": generator.choice([outcome for outcome in Outcome if outcome is not Outcome.refused]),
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
    # Only the columns every revision since 0004 has (the test also runs at older revisions).
    columns = ["created_at", "user_id", "api_key_id", "provider", "model", "outcome", *SUMS, "cost_usd"]
    for record in session.execute(select(*(getattr(UsageRecord, name) for name in columns))):
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


def _odd_rows(seed: int) -> list[dict]:
    """Rows as other callers may pass them: local time zones (the hour and day are UTC's), columns left to their
    defaults, and columns that only some rows of the batch name."""
    generator = random.Random(seed)
    zones = [timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-7)), UTC]
    rows: list[dict] = []
    for index in range(60):
        row: dict = {
            "created_at": (T0 + timedelta(minutes=generator.randint(0, 1500))).astimezone(generator.choice(zones)),
            "provider": "anthropic",
            "provider_kind": "anthropic",
            "model": generator.choice(["m1", "m2"]),
            "endpoint": "/v1/messages",
            "input_tokens": generator.randint(0, 1000),
        }
        if index % 3:
            row["user_id"] = generator.choice([None, 1, 2])
        if index % 4 == 0:
            row["session_id"] = f"s{index}"
            row["cost_usd"] = 0.25
        rows.append(row)
    return rows


def _write(engine: Engine, rows: list[dict], batch: int = 1000) -> None:
    with Session(engine) as session:
        for start in range(0, len(rows), batch):
            insert_usage(session, rows[start : start + batch])
        session.commit()


def test_writer_inserts_and_trigger_deletes_and_updates_keep_the_rollups_exact(engine: Engine) -> None:
    _write(engine, _random_rows(40, seed=1))
    _write(engine, _random_rows(300, seed=2), batch=70)  # batches adding to the same rollup rows
    _write(engine, _odd_rows(seed=5))
    bare = {"provider": "openai", "provider_kind": "openai", "model": "m2", "endpoint": "/v1/responses"}
    _write(engine, [bare | {"output_tokens": 5}] * 3)  # every other column defaulted, created_at (now) too
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


def _raw_rollups(engine: Engine) -> dict[str, list[tuple]]:
    """Every rollup row as the driver returns it (SQLite: the bucket's stored text), cost rounded: the writer adds
    a batch's costs in another order than the trigger did."""
    tables = {}
    with engine.connect() as connection:
        for table in ROLLUP_TABLES:
            rows = connection.exec_driver_sql(f"SELECT * FROM {table}").all()
            tables[table] = sorted((*row[:-1], round(row[-1], 9)) for row in rows)
    return tables


def test_the_writer_stores_the_rollups_exactly_as_the_insert_trigger_did(database_url: str) -> None:
    """Same records, once through 0004's insert trigger and once through the writer: the same rollup rows, byte
    for byte where the driver shows them (the usage queries compare bucket_start with bound values)."""
    rows = _random_rows(250, seed=6) + _odd_rows(seed=7)
    engine = make_engine(database_url)
    try:
        command.upgrade(alembic_config(engine), "0004")
        # The model's table without the columns later migrations added.
        records_at_0004 = Table(
            "usagerecord",
            MetaData(),
            *(column._copy() for column in UsageRecord.__table__.columns if column.name not in COLUMNS_AFTER_0004),  # type: ignore[attr-defined]
        )
        with Session(engine) as session:
            session.execute(insert(records_at_0004), _with_all_columns(rows))
            session.commit()
        by_trigger = _raw_rollups(engine)
        with Session(engine) as session:
            session.execute(delete(UsageRecord))
            session.commit()
        assert all(rows == [] for rows in _raw_rollups(engine).values())
        upgrade_database(engine)
        _write(engine, rows, batch=100)
        assert _raw_rollups(engine) == by_trigger
        assert sum(len(rows) for rows in by_trigger.values()) > 100
    finally:
        engine.dispose()


# Columns later migrations added: a table at revision 0004 has none of them.
COLUMNS_AFTER_0004 = {"call_id", "usage_estimated", *CALL_LOG_COLUMNS}


def _with_all_columns(rows: list[dict]) -> list[dict]:
    """Every column of every row as of revision 0004, defaults filled in (one executemany needs the same keys in
    every row)."""
    return [UsageRecord(**row).model_dump(exclude={"id", *COLUMNS_AFTER_0004}) for row in rows]


def _triggers(engine: Engine) -> dict[str, str]:
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            found = connection.exec_driver_sql(
                "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger "
                "WHERE tgrelid = 'usagerecord'::regclass AND NOT tgisinternal"
            )
        else:
            found = connection.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'usagerecord'"
            )
        return dict(found.all())


def test_migration_0005_drops_only_the_insert_trigger_and_its_downgrade_restores_it(database_url: str) -> None:
    engine = make_engine(database_url)
    config = alembic_config(engine)
    try:
        command.upgrade(config, "0004")
        at_0004 = _triggers(engine)
        assert set(at_0004) == {"usage_rollup_insert", "usage_rollup_delete", "usage_rollup_update"}
        command.upgrade(config, "0005")
        assert _triggers(engine) == {name: sql for name, sql in at_0004.items() if name != "usage_rollup_insert"}
        with Session(engine) as session:  # a plain INSERT is no longer rolled up: the writer does that
            session.execute(insert(UsageRecord), _random_rows(20, seed=8))
            session.commit()
            assert session.exec(select(UsageHourly)).all() == []
            session.execute(delete(UsageRecord))
            session.commit()
        _write(engine, _random_rows(100, seed=9))
        command.downgrade(config, "0004")
        assert _triggers(engine) == at_0004
        with Session(engine) as session:  # the restored trigger rolls up plain inserts again, on top of the writer's
            session.execute(insert(UsageRecord), _random_rows(100, seed=10))
            session.commit()
        _assert_rollups_match(engine)
        command.upgrade(config, "head")
        _write(engine, _random_rows(100, seed=11))
        _assert_rollups_match(engine)
    finally:
        engine.dispose()


def test_the_migration_backfills_the_rollups_from_existing_records(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        command.upgrade(alembic_config(engine), "0003")
        with Session(engine) as session:
            session.execute(insert(UsageRecord), _random_rows(200, seed=3))
            session.commit()
        upgrade_database(engine)
        _assert_rollups_match(engine)
        _write(engine, _random_rows(50, seed=4))  # and the writer adds to the backfilled rollups
        _assert_rollups_match(engine)
    finally:
        engine.dispose()
