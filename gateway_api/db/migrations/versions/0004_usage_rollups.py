"""usage rollups: hourly and daily sums of usage records, kept exact by triggers, backfilled from existing rows

Two families: per (user, key, provider, model, outcome), and per (provider, model, outcome) only (few rows, for
the views without a user or key filter or grouping).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 06:00:00

Here triggers maintain the rollups on insert, delete and update: on SQLite row triggers (one upsert per record
and rollup), on PostgreSQL statement triggers over the transition tables. Migration 0005 drops the insert
trigger: it was most of the cost of the usage recorder's batch write (and on PostgreSQL an executemany fires a
statement trigger once per row), so since then records are inserted through
``gateway_api.usage.writer.insert_usage_records``, which adds each batch's grouped sums in the same transaction,
and an INSERT that bypasses it leaves the rollups short. The delete and update triggers stay, so records deleted
or changed by hand or by retention keep the rollups exact. 0005 recreates the insert trigger on downgrade from
``sqlite_insert_trigger`` / ``postgres_trigger`` below.

A later migration that recreates ``usagerecord`` on SQLite (batch mode copies the table) drops its triggers and
must create them again; tests/db/test_usage_rollups.py fails if they are missing.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY_COLUMNS = ("bucket_start", "user_id", "api_key_id", "provider", "model", "outcome")
MODEL_KEY_COLUMNS = ("bucket_start", "provider", "model", "outcome")
# table -> (time unit, key columns)
ROLLUPS = {
    "usagehourly": ("hour", KEY_COLUMNS),
    "usagedaily": ("day", KEY_COLUMNS),
    "usagemodelhourly": ("hour", MODEL_KEY_COLUMNS),
    "usagemodeldaily": ("day", MODEL_KEY_COLUMNS),
}
SUM_COLUMNS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_usd",
)


def _all_columns(keys: tuple[str, ...]) -> str:
    return ", ".join((*keys, "requests", *SUM_COLUMNS))


# The same text SQLAlchemy stores for a UTC datetime on SQLite, so range comparisons with bound values work.
SQLITE_FORMATS = {"hour": "%Y-%m-%d %H:00:00.000000", "day": "%Y-%m-%d 00:00:00.000000"}


def _create_rollup_table(name: str, keys: tuple[str, ...]) -> None:
    ids = [sa.Column(c, sa.Integer(), autoincrement=False, nullable=False) for c in ("user_id", "api_key_id")]
    op.create_table(
        name,
        sa.Column("bucket_start", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        *(ids if "user_id" in keys else []),
        sa.Column("provider", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("model", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_read_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_write_tokens", sa.BigInteger(), nullable=False),
        sa.Column("reasoning_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(*keys),
        sqlite_with_rowid=False,
    )


def _execute(sql: str) -> None:
    # Driver-level: SQLAlchemy's text() would read the ":00" of time formats as bind parameters.
    op.get_bind().exec_driver_sql(sql)


# -- SQLite: row triggers ---------------------------------------------------------------------------------------


def _sqlite_key(row: str, unit: str, keys: tuple[str, ...]) -> list[str]:
    expressions = {
        "bucket_start": f"strftime('{SQLITE_FORMATS[unit]}', {row}.created_at)",
        "user_id": f"coalesce({row}.user_id, 0)",
        "api_key_id": f"coalesce({row}.api_key_id, 0)",
    }
    return [expressions.get(c, f"{row}.{c}") for c in keys]


def _sqlite_add(table: str, unit: str, keys: tuple[str, ...]) -> str:
    values = ", ".join((*_sqlite_key("NEW", unit, keys), "1", *(f"NEW.{c}" for c in SUM_COLUMNS)))
    updates = ", ".join(f"{c} = {c} + excluded.{c}" for c in ("requests", *SUM_COLUMNS))
    return (
        f"INSERT INTO {table} ({_all_columns(keys)}) VALUES ({values}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates};"
    )


def _sqlite_subtract(table: str, unit: str, keys: tuple[str, ...]) -> str:
    match = " AND ".join(f"{c} = {v}" for c, v in zip(keys, _sqlite_key("OLD", unit, keys), strict=True))
    updates = ", ".join(["requests = requests - 1", *(f"{c} = {c} - OLD.{c}" for c in SUM_COLUMNS)])
    return f"UPDATE {table} SET {updates} WHERE {match}; DELETE FROM {table} WHERE {match} AND requests <= 0;"


def sqlite_insert_trigger() -> str:
    """The CREATE TRIGGER of the insert trigger (migration 0005 drops it and recreates it on downgrade)."""
    add = " ".join(_sqlite_add(t, u, k) for t, (u, k) in ROLLUPS.items())
    return f"CREATE TRIGGER usage_rollup_insert AFTER INSERT ON usagerecord BEGIN {add} END"


def _sqlite_triggers() -> None:
    add = " ".join(_sqlite_add(t, u, k) for t, (u, k) in ROLLUPS.items())
    subtract = " ".join(_sqlite_subtract(t, u, k) for t, (u, k) in ROLLUPS.items())
    watched = ", ".join(("created_at", *KEY_COLUMNS[1:], *SUM_COLUMNS))
    _execute(sqlite_insert_trigger())
    _execute(f"CREATE TRIGGER usage_rollup_delete AFTER DELETE ON usagerecord BEGIN {subtract} END")
    _execute(f"CREATE TRIGGER usage_rollup_update AFTER UPDATE OF {watched} ON usagerecord BEGIN {subtract} {add} END")


# -- PostgreSQL: statement triggers over transition tables ----------------------------------------------------


def _postgres_grouped(rows: str, unit: str, keys: tuple[str, ...]) -> str:
    expressions = {
        "bucket_start": f"date_trunc('{unit}', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket_start",
        "user_id": "coalesce(user_id, 0) AS user_id",
        "api_key_id": "coalesce(api_key_id, 0) AS api_key_id",
        "outcome": "outcome::text AS outcome",
    }
    columns = ", ".join(expressions.get(c, c) for c in keys)
    sums = ", ".join(f"sum({c}) AS {c}" for c in SUM_COLUMNS)
    positions = ", ".join(str(i) for i in range(1, len(keys) + 1))
    return f"SELECT {columns}, count(*) AS requests, {sums} FROM {rows} GROUP BY {positions}"


def _postgres_add(table: str, unit: str, keys: tuple[str, ...]) -> str:
    updates = ", ".join(f"{c} = t.{c} + EXCLUDED.{c}" for c in ("requests", *SUM_COLUMNS))
    positions = ", ".join(str(i) for i in range(1, len(keys) + 1))
    # Ordered, so concurrent batches lock shared rollup rows in the same order (no deadlock).
    return (
        f"INSERT INTO {table} AS t ({_all_columns(keys)}) {_postgres_grouped('new_rows', unit, keys)} "
        f"ORDER BY {positions} ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates};"
    )


def _postgres_subtract(table: str, unit: str, keys: tuple[str, ...]) -> str:
    match = " AND ".join(f"t.{c} = g.{c}" for c in keys)
    updates = ", ".join(f"{c} = t.{c} - g.{c}" for c in ("requests", *SUM_COLUMNS))
    grouped = _postgres_grouped("old_rows", unit, keys)
    return (
        f"UPDATE {table} AS t SET {updates} FROM ({grouped}) AS g WHERE {match}; "
        f"DELETE FROM {table} AS t USING ({grouped}) AS g WHERE {match} AND t.requests <= 0;"
    )


def _postgres_triggers() -> None:
    add = " ".join(_postgres_add(t, u, k) for t, (u, k) in ROLLUPS.items())
    subtract = " ".join(_postgres_subtract(t, u, k) for t, (u, k) in ROLLUPS.items())
    _execute(
        "CREATE FUNCTION usage_rollup_apply() RETURNS trigger LANGUAGE plpgsql AS $fn$ BEGIN "
        f"IF TG_OP IN ('DELETE', 'UPDATE') THEN {subtract} END IF; "
        f"IF TG_OP IN ('INSERT', 'UPDATE') THEN {add} END IF; "
        "RETURN NULL; END $fn$"
    )
    for operation in POSTGRES_TRANSITION_TABLES:
        _execute(postgres_trigger(operation))


POSTGRES_TRANSITION_TABLES = {
    "INSERT": "NEW TABLE AS new_rows",
    "DELETE": "OLD TABLE AS old_rows",
    "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
}


def postgres_trigger(operation: str) -> str:
    """The CREATE TRIGGER for one operation; all three call usage_rollup_apply() (0005 drops the INSERT one)."""
    return (
        f"CREATE TRIGGER usage_rollup_{operation.lower()} AFTER {operation} ON usagerecord "
        f"REFERENCING {POSTGRES_TRANSITION_TABLES[operation]} FOR EACH STATEMENT EXECUTE FUNCTION usage_rollup_apply()"
    )


# -- backfill ---------------------------------------------------------------------------------------------------


def _backfill(dialect: str) -> None:
    """Hourly sums from the records; every other rollup from the hourly one (far fewer rows to read)."""
    sums = ", ".join(f"sum({c})" for c in SUM_COLUMNS)
    if dialect == "postgresql":
        _execute(
            f"INSERT INTO usagehourly ({_all_columns(KEY_COLUMNS)}) "
            f"{_postgres_grouped('usagerecord', 'hour', KEY_COLUMNS)}"
        )
        day = "date_trunc('day', bucket_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
    else:
        hour = _sqlite_key("usagerecord", "hour", KEY_COLUMNS)
        _execute(
            f"INSERT INTO usagehourly ({_all_columns(KEY_COLUMNS)}) SELECT {', '.join(hour)}, count(*), {sums} "
            "FROM usagerecord GROUP BY 1, 2, 3, 4, 5, 6"
        )
        day = f"strftime('{SQLITE_FORMATS['day']}', bucket_start)"
    for table, (unit, keys) in ROLLUPS.items():
        if table == "usagehourly":
            continue
        columns = ", ".join((day if unit == "day" else "bucket_start", *keys[1:]))
        positions = ", ".join(str(i) for i in range(1, len(keys) + 1))
        _execute(
            f"INSERT INTO {table} ({_all_columns(keys)}) SELECT {columns}, sum(requests), {sums} "
            f"FROM usagehourly GROUP BY {positions}"
        )


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        # No record may land between the backfill and the triggers (this transaction holds the lock until commit).
        _execute("LOCK TABLE usagerecord IN SHARE ROW EXCLUSIVE MODE")
    for table, (_, keys) in ROLLUPS.items():
        _create_rollup_table(table, keys)
    _backfill(dialect)
    if dialect == "postgresql":
        _postgres_triggers()
    else:
        _sqlite_triggers()


def downgrade() -> None:
    for operation in ("insert", "delete", "update"):
        if op.get_bind().dialect.name == "postgresql":
            _execute(f"DROP TRIGGER IF EXISTS usage_rollup_{operation} ON usagerecord")
        else:
            _execute(f"DROP TRIGGER IF EXISTS usage_rollup_{operation}")
    if op.get_bind().dialect.name == "postgresql":
        _execute("DROP FUNCTION IF EXISTS usage_rollup_apply()")
    for table in ROLLUPS:
        op.drop_table(table)
