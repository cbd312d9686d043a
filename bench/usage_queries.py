"""Seed one million usage records and time the Token Usage page's queries (gateway_api.usage.queries).

Target from the performance issue: summary and timeseries under 200 ms each, on SQLite and on PostgreSQL.
SQLite uses a file in the bench work dir; PostgreSQL (127.0.0.1:5432, user postgres) a database created for
the run and dropped afterwards. Rows are bulk-loaded (sqlite3 executemany / PostgreSQL COPY), not through the
ORM, so seeding takes seconds, not minutes.

The records are loaded into the schema as it was before the usage rollups, then the database is upgraded: the
rollup migration's backfill builds the hourly and daily rollups, as it would for an existing installation, and
its time is logged. The usage recorder's batch write (1,000 records) is timed in two shapes, proxy-like (one key,
one model) and the seeded spread (600 keys, 8 models), at three stages: the records only (no rollups yet), the
records rolled up by migration 0004's insert trigger, and the recorder's own write at the head revision (the
application adds each batch's grouped sums, migration 0005). The records are dated after the seeded range so
the figures of ranges with an end do not move.
"""

import random
import sqlite3
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlmodel import Session

from gateway_api.db.engine import alembic_config, make_engine, upgrade_database
from gateway_api.usage import queries
from gateway_api.usage.batch_writes import LAST_USED
from gateway_api.usage.system_actor import message_policy_spend
from gateway_api.usage.writer import UsageStatements, insert_usage_records

TEMPLATES = 9973  # prime, so templates do not line up with time buckets
DAYS = 30
REPEATS = 3
ROLLUP_REVISION = "0004"  # gateway_api/db/migrations/versions/0004_usage_rollups.py
WRITE_BATCHES = 10
# The recorder's batch: proxy-like (a busy key on one model) and the seeded data's spread over 600 keys.
WRITE_SHAPES = ("one key, one model", "600 keys")
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
POSTGRES_BENCH_DB = "gateway_bench_usage"
MODELS = ["claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5", "gpt-5", "gpt-5-mini", "gpt-4.1", "o3", "o4-mini"]
COLUMNS = (
    "created_at",
    "user_id",
    "api_key_id",
    "provider",
    "provider_kind",
    "model",
    "endpoint",
    "streamed",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_usd",
    "status_code",
    "outcome",
    "latency_ms",
    "client",
)


def _rows(now: datetime, count: int) -> Iterator[tuple]:
    """`count` rows over the last DAYS days; the same data on every run and database. The non-time columns
    cycle through a pool of random templates: seeding is bound by Python, and a million fresh draws of every
    column took minutes on a busy core without changing what the queries have to scan."""
    generator = random.Random(7)
    templates = []
    for _ in range(TEMPLATES):
        model = generator.choice(MODELS)
        anthropic = model.startswith("claude")
        user = generator.randint(1, 200)
        provider = "anthropic" if anthropic else "openai"
        templates.append(
            (
                user,
                user * 3 + generator.randint(0, 2),
                provider,
                provider,
                model,
                "/v1/messages" if anthropic else "/v1/responses",
                True,
                generator.randint(100, 120_000),
                generator.randint(10, 4000),
                generator.randint(0, 80_000),
                generator.randint(0, 5000),
                0,
                round(generator.random() * 0.5, 6),
                200,
                "ok",
                round(generator.random() * 3000, 1),
                "bench",
            )
        )
    step = DAYS * 86400 / count
    for index in range(count):
        yield (now - timedelta(seconds=index * step), *templates[index % TEMPLATES])


def _seed_sqlite(path: Path, now: datetime, rows: int) -> None:
    with sqlite3.connect(path) as connection:
        placeholders = ",".join("?" for _ in COLUMNS)
        values = ((r[0].strftime("%Y-%m-%d %H:%M:%S.%f"), *r[1:]) for r in _rows(now, rows))
        connection.executemany(f"INSERT INTO usagerecord ({','.join(COLUMNS)}) VALUES ({placeholders})", values)
        connection.execute("ANALYZE")


def _seed_postgres(url: str, now: datetime, rows: int) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as connection:
        with connection.cursor() as cursor, cursor.copy(f"COPY usagerecord ({','.join(COLUMNS)}) FROM STDIN") as copy:
            for row in _rows(now, rows):
                copy.write_row(row)
        connection.execute("ANALYZE usagerecord")


def _time(session_factory: Callable[[], Session], run: Callable[[Session], object]) -> dict:
    """Wall time, and this process's CPU time: on SQLite that is the query's whole cost, which a busy machine's
    wall time overstates; on PostgreSQL it leaves out the server's share."""
    timings, cpu = [], []
    for _ in range(REPEATS):
        with session_factory() as session:
            started, started_cpu = time.perf_counter(), time.process_time()
            run(session)
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
    return {
        "best_ms": round(min(timings), 1),
        "median_ms": round(statistics.median(timings), 1),
        "client_cpu_ms": round(statistics.median(cpu), 1),
    }


def _upgrade_from_seeded_schema(url: str, log: Callable[[str], None], database: str) -> None:
    """To the rollup revision (0004: backfill and triggers); the head comes after the trigger write is timed."""
    engine = make_engine(url)
    started = time.perf_counter()
    command.upgrade(alembic_config(engine), ROLLUP_REVISION)
    log(f"rollup migration backfill [{database}]: {time.perf_counter() - started:.1f} s")
    with engine.begin() as connection:  # fresh statistics for the new tables, as the seeding gave the records
        connection.exec_driver_sql("ANALYZE")
    engine.dispose()


def _before_rollups(engine: Engine) -> str:
    revision = ScriptDirectory.from_config(alembic_config(engine)).get_revision(ROLLUP_REVISION)
    return str(revision.down_revision)


def _records_only(engine: Engine, with_rollups: bool = False) -> Callable[[list[dict]], None]:
    """The recorder's write without the rollup sums: the records and the keys' last use, as before migration
    0005 (at 0003 nothing rolls them up, at 0004 the insert trigger does). ``with_rollups``: the usage batch
    writer's own transaction (usage/batch_writes.py), records and rollups through insert_usage_records."""
    statements = UsageStatements(engine.dialect)

    def write(batch: list[dict]) -> None:
        prepared = statements.insert(tuple(batch[0]))
        last_used: dict[int, datetime] = {}
        for row in batch:
            last_used[row["api_key_id"]] = max(row["created_at"], last_used.get(row["api_key_id"], row["created_at"]))
        with engine.begin() as connection:
            if with_rollups:
                insert_usage_records(connection, batch, statements)
            else:
                connection.exec_driver_sql(prepared.sql, prepared.parameters(batch))
            connection.execute(LAST_USED, [{"key_id": key, "used_at": when} for key, when in sorted(last_used.items())])

    return write


def _write_batches(now: datetime, shape: str) -> list[list[dict]]:
    later = now + timedelta(days=2)
    rows = [dict(zip(COLUMNS, row, strict=True)) for row in _rows(later, WRITE_BATCHES * 1000)]
    for row in rows:
        row["created_at"] = later + (later - row["created_at"]) / 1000  # a few hours after the seeded range
        if shape == "one key, one model":
            row.update(user_id=1, api_key_id=3, provider="anthropic", model="claude-sonnet-4-5")
    return [rows[index * 1000 : (index + 1) * 1000] for index in range(WRITE_BATCHES)]


def _time_writes(url: str, now: datetime, database: str, stage: str, log: Callable[[str], None]) -> dict[str, float]:
    """Median ms of one 1,000-record batch write (what the proxy's flush costs) per shape, at one stage:
    "records only", "insert trigger" (both without the rollup sums) or "writer" (the recorder's own write)."""
    engine = make_engine(url)
    write = _records_only(engine, with_rollups=stage == "writer")
    medians = {}
    for shape in WRITE_SHAPES:
        timings = []
        for batch in _write_batches(now, shape):
            started = time.perf_counter()
            write(batch)
            timings.append((time.perf_counter() - started) * 1000)
        medians[shape] = round(statistics.median(timings), 1)
        log(f"usage batch write [{database}, {stage}, {shape}]: median {medians[shape]} ms per 1,000 records")
    engine.dispose()
    return medians


def _time_queries(url: str, now: datetime, database: str, rows: int, log: Callable[[str], None]) -> list[dict]:
    engine = make_engine(url)
    last_30_days = queries.UsageFilter(start=now - timedelta(days=DAYS), end=now)
    last_7_days = queries.UsageFilter(start=now - timedelta(days=7))  # the page's default: no end
    one_model = queries.UsageFilter(start=last_7_days.start, models=("gpt-5",))
    one_user = queries.UsageFilter(start=last_30_days.start, end=now, user_ids=(17,))
    one_key = queries.UsageFilter(start=last_30_days.start, end=now, api_key_ids=(52,))
    # The page itself asks for whole UTC days: 7 by default (day buckets), hour buckets up to 2 days.
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    page_week = queries.UsageFilter(start=today - timedelta(days=6), end=today + timedelta(days=1))
    page_two_days = queries.UsageFilter(start=today - timedelta(days=1), end=today + timedelta(days=1))
    q = queries
    cases: dict[str, Callable[[Session], object]] = {
        "summary 30 days": lambda s: q.summary(s, last_30_days),
        "summary 7 days": lambda s: q.summary(s, last_7_days),
        "summary 7 days, one model": lambda s: q.summary(s, one_model),
        "summary 30 days, one user": lambda s: q.summary(s, one_user),
        "summary 30 days, one key": lambda s: q.summary(s, one_key),
        "timeseries 30 days by day, token types": lambda s: q.timeseries(s, last_30_days, "day", "token_type", now=now),
        "timeseries 30 days by day, per model": lambda s: q.timeseries(s, last_30_days, "day", "model", now=now),
        "timeseries 30 days by day, per user": lambda s: q.timeseries(s, last_30_days, "day", "user", now=now),
        "timeseries 30 days by day, per key": lambda s: q.timeseries(s, last_30_days, "day", "key", now=now),
        "timeseries 7 days by hour, token types": lambda s: q.timeseries(s, last_7_days, "hour", "token_type", now=now),
        "timeseries 7 days by hour, per user": lambda s: q.timeseries(
            s, last_7_days, "hour", "user", metric="cost_usd", now=now
        ),
        "timeseries 7 days by hour, per model": lambda s: q.timeseries(s, last_7_days, "hour", "model", now=now),
        "timeseries 7 days by hour, per key": lambda s: q.timeseries(s, last_7_days, "hour", "key", now=now),
        "timeseries 7 days by hour, one model per user": lambda s: q.timeseries(s, one_model, "hour", "user", now=now),
        "timeseries 30 days by day, one user per model": lambda s: q.timeseries(s, one_user, "day", "model", now=now),
        "page default, 7 whole days by day, per key": lambda s: q.timeseries(s, page_week, "day", "key", now=now),
        "page, 2 whole days by hour, per key": lambda s: q.timeseries(s, page_two_days, "hour", "key", now=now),
        "page, 2 whole days by hour, per user": lambda s: q.timeseries(s, page_two_days, "hour", "user", now=now),
        "breakdown 30 days per model": lambda s: q.breakdown(s, last_30_days, "model"),
        "breakdown 30 days per user": lambda s: q.breakdown(s, last_30_days, "user"),
        "breakdown 7 days per key": lambda s: q.breakdown(s, last_7_days, "key"),
        # The summary's message policy figures (the judge's rows: no user, no key), read bucket by bucket.
        "message policy spend 30 days": lambda s: message_policy_spend(s, last_30_days, now),
        "message policy spend 7 days": lambda s: message_policy_spend(s, last_7_days, now),
        "filter options 7 days": lambda s: q.filter_options(s, last_7_days),
        "records 7 days, first page": lambda s: q.records(s, last_7_days, 100, 0),
        "records 30 days, one model, first page": lambda s: q.records(
            s, queries.UsageFilter(start=last_30_days.start, end=now, models=("o3",)), 100, 0
        ),
    }
    records = []
    for name, run in cases.items():
        timing = _time(lambda: Session(engine), run)
        record = {
            "kind": "usage_query",
            "database": database,
            "rows": rows,
            "query": name,
            **timing,
            "target_ms": 200,
            "met": timing["median_ms"] < 200,
        }
        log(
            f"usage query [{database}] {name}: median {timing['median_ms']} ms (best {timing['best_ms']}, "
            f"client CPU {timing['client_cpu_ms']})"
        )
        records.append(record)
    engine.dispose()
    return records


def run(work_dir: Path, rows: int, log: Callable[[str], None]) -> list[dict]:
    now = datetime.now(UTC).replace(microsecond=0)
    records: list[dict] = []
    sqlite_path = work_dir / "usage-bench.db"
    sqlite_url = f"sqlite:///{sqlite_path}"
    engine = make_engine(sqlite_url)
    command.upgrade(alembic_config(engine), _before_rollups(engine))
    engine.dispose()
    started = time.perf_counter()
    _seed_sqlite(sqlite_path, now, rows)
    log(f"seeded {rows:,} usage rows into SQLite in {time.perf_counter() - started:.1f} s")
    records += _time_around_upgrade(sqlite_url, now, "sqlite", rows, log)
    records += _run_postgres(now, rows, log)
    return records


def _run_postgres(now: datetime, rows: int, log: Callable[[str], None]) -> list[dict]:
    import psycopg

    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        log(f"usage queries on PostgreSQL skipped: {error}")
        return [{"kind": "usage_query", "database": "postgresql", "skipped": str(error)}]
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{POSTGRES_BENCH_DB}"
    with admin:
        admin.execute(f"DROP DATABASE IF EXISTS {POSTGRES_BENCH_DB}")
        admin.execute(f"CREATE DATABASE {POSTGRES_BENCH_DB}")
        try:
            engine = make_engine(url)
            command.upgrade(alembic_config(engine), _before_rollups(engine))
            engine.dispose()
            started = time.perf_counter()
            _seed_postgres(url, now, rows)
            log(f"seeded {rows:,} usage rows into PostgreSQL in {time.perf_counter() - started:.1f} s")
            return _time_around_upgrade(url, now, "postgresql", rows, log)
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {POSTGRES_BENCH_DB} WITH (FORCE)")


def _time_around_upgrade(url: str, now: datetime, database: str, rows: int, log: Callable[[str], None]) -> list[dict]:
    records_only = _time_writes(url, now, database, "records only", log)
    _upgrade_from_seeded_schema(url, log, database)
    by_trigger = _time_writes(url, now, database, "insert trigger", log)
    engine = make_engine(url)
    upgrade_database(engine)
    engine.dispose()
    records = _time_queries(url, now, database, rows, log)
    by_writer = _time_writes(url, now, database, "writer", log)
    for shape in WRITE_SHAPES:
        records.append(
            {
                "kind": "usage_write",
                "database": database,
                "batch_records": 1000,
                "shape": shape,
                "records_only_median_ms": records_only[shape],
                "insert_trigger_median_ms": by_trigger[shape],
                "writer_median_ms": by_writer[shape],
            }
        )
    return records
