"""Seed one million call-log rows and time the LLM Calls listing (gateway_api.calllog.listing): the newest 100
calls under each single filter, and the next page through the cursor.

Target from issue 16: under 200 ms per listing with any one filter over 1 M rows, on SQLite and on PostgreSQL.
SQLite uses a file in the work dir; PostgreSQL (127.0.0.1:5432, user postgres) a database created for the run and
dropped afterwards. Rows are bulk-loaded at the head revision (sqlite3 executemany / COPY), not through the ORM.

    PYTHONPATH=$PWD .venv/bin/python -m bench.llm_calls_queries [rows] [work dir]
"""

from __future__ import annotations

import json
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from gateway_api.calllog.listing import CallFilter, decode_cursor, page
from gateway_api.db.engine import make_engine, upgrade_database
from gateway_api.db.models import Outcome, UsageModelDaily, UsageRecord, User

TEMPLATES = 9973
DAYS = 30
REPEATS = 5
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
POSTGRES_BENCH_DB = "gateway_bench_llm_calls"
MODELS = ["claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5", "gpt-5", "gpt-5-mini", "gpt-4.1", "o3", "o4-mini"]
# One template in RARE_EVERY goes to a small provider with a model of its own (a regional deployment, say): the
# provider filter walks the provider's models through the model index (no provider index since migration 0014).
RARE_PROVIDER, RARE_MODEL, RARE_EVERY = "anthropic-eu", "claude-sonnet-4-5@eu", 500
CLIENTS = ["claude-cli/2.0.14 (external, cli)", "codex_cli_rs/0.50.0", "python-httpx/0.28.1", "OpenAI/Python 1.99"]
COLUMNS = (
    "created_at", "user_id", "api_key_id", "provider", "provider_kind", "model", "endpoint", "streamed",
    "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "cost_usd",
    "status_code", "outcome", "latency_ms", "client", "session_id", "path", "method", "usage_estimated",
)  # fmt: skip


def _rows(now: datetime, count: int) -> Iterator[tuple[Any, ...]]:
    """`count` calls over DAYS days, newest first; about 2 % refused (401/429), 1 % upstream errors."""
    generator = random.Random(16)
    templates = []
    for template in range(TEMPLATES):
        model = generator.choice(MODELS)
        kind = "anthropic" if model.startswith("claude") else "openai"
        provider = kind
        if template % RARE_EVERY == 0:
            provider, model = RARE_PROVIDER, RARE_MODEL
        user = generator.randint(1, 200)
        roll = generator.random()
        status, outcome = (200, "ok")
        if roll < 0.015:
            status, outcome = 401, "refused"
        elif roll < 0.02:
            status, outcome = 429, "refused"
        elif roll < 0.03:
            status, outcome = 529, "upstream_error"
        templates.append(
            (
                user, user * 3 + generator.randint(0, 2), provider, kind, model, "messages", True,
                generator.randint(100, 120_000), generator.randint(10, 4000), 0, 0, 0,
                round(generator.random() * 0.5, 6), status, outcome, round(generator.random() * 3000, 1),
                generator.choice(CLIENTS), f"session-{generator.randint(1, 5000)}",
                f"/api/llm-proxy/{kind}/v1/messages", "POST", False,
            )
        )  # fmt: skip
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


def _seed_names(url: str, now: datetime) -> None:
    """The users, and the per-model rollup that the free text and the provider filter read the models from (the
    records were bulk-loaded past the writer, which fills the rollups): one row per provider and model."""
    engine = make_engine(url)
    with Session(engine) as session:
        session.add_all(User(id=i, email=f"user-{i}@example.com", name=f"User {i}") for i in range(1, 201))
        day = now.replace(hour=0, minute=0, second=0)
        pairs = session.exec(select(UsageRecord.provider, UsageRecord.model).distinct()).all()
        session.add_all(
            UsageModelDaily(bucket_start=day, provider=provider, model=model, outcome="ok", requests=1)
            for provider, model in pairs
        )
        session.commit()
    engine.dispose()


def _cases(now: datetime) -> dict[str, CallFilter]:
    return {
        "no filter": CallFilter(),
        "user": CallFilter(user_id=17),
        "key": CallFilter(api_key_id=52),
        "provider": CallFilter(provider="openai"),
        f"provider (rare, 1 in {RARE_EVERY})": CallFilter(provider=RARE_PROVIDER),
        "provider (no row)": CallFilter(provider="no-such-provider"),
        "model": CallFilter(model="o3"),
        "status 429": CallFilter(status=429),
        "status 200 (time index)": CallFilter(status=200),
        "status 503 (no row)": CallFilter(status=503),
        "outcome refused": CallFilter(outcome=Outcome.refused),
        "outcome ok (time index)": CallFilter(outcome=Outcome.ok),
        "client": CallFilter(client="codex_cli_rs/0.50.0"),
        "session": CallFilter(session_id="session-4242"),
        "from (last 2 days)": CallFilter(start=now - timedelta(days=2)),
        "to (older than 20 days)": CallFilter(end=now - timedelta(days=20)),
        "free text (model part)": CallFilter(text="opus"),
        "free text (no match)": CallFilter(text="no-such-thing"),
        "free text (a user's email)": CallFilter(text="user-17@example"),
    }


def _time(run: Callable[[], object]) -> dict[str, float]:
    timings = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        run()
        timings.append((time.perf_counter() - started) * 1000)
    return {"best_ms": round(min(timings), 1), "median_ms": round(statistics.median(timings), 1)}


def time_listings(url: str, database: str, rows: int, now: datetime) -> list[dict[str, Any]]:
    engine = make_engine(url)
    records = []
    try:
        for name, call_filter in _cases(now).items():
            with Session(engine) as session:
                first, cursor = page(session, call_filter, 100)
            after = decode_cursor(cursor) if cursor else None

            def first_page(call_filter: CallFilter = call_filter) -> object:
                with Session(engine) as session:
                    return page(session, call_filter, 100)

            def second_page(
                call_filter: CallFilter = call_filter, after: tuple[datetime, int] | None = after
            ) -> object:
                with Session(engine) as session:
                    return page(session, call_filter, 100, after)

            for which, run in (("newest 100", first_page), ("next 100 (cursor)", second_page)):
                timing = _time(run)
                record = {"database": database, "rows": rows, "filter": name, "page": which, **timing}
                record["met"] = timing["median_ms"] < 200
                records.append(record)
                print(json.dumps(record), flush=True)
            print(json.dumps({"filter": name, "rows_on_first_page": len(first)}), flush=True)
        records.append(time_export(engine, database, rows))
    finally:
        engine.dispose()
    return records


def time_export(engine: Engine, database: str, rows: int) -> dict[str, Any]:
    """The export's walk over every row, each turned into its JSON line as the route does, and this process's
    peak memory (ru_maxrss) before and after: bounded memory shows as a peak that does not grow with the rows."""
    from gateway_api.api.routes.llm_calls import _jsonl

    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    started = time.perf_counter()
    exported = sum(chunk.count(b"\n") for chunk in _jsonl(engine, CallFilter(), None))
    seconds = time.perf_counter() - started
    peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    record = {
        "database": database, "rows": rows, "export_rows": exported, "export_seconds": round(seconds, 1),
        "peak_rss_mib_before": peak_before, "peak_rss_mib_after": peak_after, "met": exported == rows,
    }  # fmt: skip
    print(json.dumps(record), flush=True)
    return record


def run_sqlite(work_dir: Path, rows: int, now: datetime) -> list[dict[str, Any]]:
    path = work_dir / "llm-calls-bench.db"
    path.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade_database(engine)
    engine.dispose()
    started = time.perf_counter()
    _seed_sqlite(path, now, rows)
    _seed_names(url, now)
    print(f"seeded {rows:,} rows into SQLite in {time.perf_counter() - started:.1f} s", flush=True)
    return time_listings(url, "sqlite", rows, now)


def run_postgres(rows: int, now: datetime) -> list[dict[str, Any]]:
    import psycopg

    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{POSTGRES_BENCH_DB}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {POSTGRES_BENCH_DB}")
        admin.execute(f"CREATE DATABASE {POSTGRES_BENCH_DB}")
        try:
            engine = make_engine(url)
            upgrade_database(engine)
            engine.dispose()
            started = time.perf_counter()
            _seed_postgres(url, now, rows)
            _seed_names(url, now)
            print(f"seeded {rows:,} rows into PostgreSQL in {time.perf_counter() - started:.1f} s", flush=True)
            return time_listings(url, "postgresql", rows, now)
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {POSTGRES_BENCH_DB} WITH (FORCE)")


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    work_dir = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(tempfile.mkdtemp(prefix="llm-calls-bench-"))
    now = datetime.now(UTC).replace(microsecond=0)
    records = run_sqlite(work_dir, rows, now) + run_postgres(rows, now)
    missed = [r for r in records if not r["met"]]
    print(f"{len(records) - len(missed)}/{len(records)} listings under 200 ms", flush=True)


if __name__ == "__main__":
    main()
