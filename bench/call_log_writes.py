"""What the call log adds to the usage writer's and the body writer's work per call, on SQLite (the bench's database).

- usage rows: `insert_usage_records` of the recorder's batches into a migrated database, with the call log's
  listing indexes on `usagerecord` (migrations 0011, 0013, 0014: client full, four partial) and with them dropped
  (the rest of the schema as it is);
- bodies (GATEWAY_LLM_LOG_BODIES): a 1 KB request and reply per call, in three parts:
  framing the exchange (on the event loop), compressing and sealing the frame, and the batched insert of the
  sealed rows (both in the writer's thread).

All in this process, one thread, CPU time per call (the gateway runs both writers in a thread on the proxy's core,
so this CPU is taken from the event loop). Run with this tree first on PYTHONPATH:

    PYTHONPATH=$PWD .venv/bin/python bench/call_log_writes.py
"""

from __future__ import annotations

import argparse
import itertools
import os
import secrets
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, text

from bench import canned
from gateway_api.calllog.body_writer import BodyWriter
from gateway_api.calllog.capture import Exchange, request_exchange
from gateway_api.calllog.sealing import BodySealer
from gateway_api.calllog.stored_exchange import encode_exchange
from gateway_api.db.engine import make_engine, upgrade_database
from gateway_api.db.models import PARTIAL_LISTING_INDEXES, Outcome
from gateway_api.usage.rows import UsageRow
from gateway_api.usage.tokens import TokenUsage
from gateway_api.usage.writer import UsageStatements, insert_usage_records

# The provider index is gone (migration 0014): naming it here made the DROP fail.
CALL_LOG_INDEXES = ("ix_usage_client_time", *(index.name for index in PARTIAL_LISTING_INDEXES))
REQUEST_HEADERS = [
    (b"host", b"127.0.0.1:8000"),
    (b"x-api-key", b"gw-secret-never-stored"),
    (b"anthropic-version", b"2023-06-01"),
    (b"content-type", b"application/json"),
    (b"user-agent", b"claude-cli/2.0.0 (external, cli)"),
]
RUN_PREFIX = secrets.token_hex(6)
CALL_NUMBERS = itertools.count()
REPLY_HEADERS = [(b"content-type", b"application/json"), (b"request-id", b"req_bench")]


def _usage_row() -> UsageRow:
    return UsageRow(
        created_at=datetime.now(UTC),
        user_id=1,
        api_key_id=1,
        provider="anthropic",
        provider_kind="anthropic",
        model=canned.ANTHROPIC_MODEL,
        endpoint="messages",
        streamed=False,
        tokens=TokenUsage(input_tokens=300, output_tokens=20),
        cost_usd=0.0012,
        status_code=200,
        outcome=Outcome.ok,
        latency_ms=1.2,
        ttfb_ms=1.0,
        client="claude-cli",
        session_id="session-bench",
        request_id="req_bench",
        call_id=f"{RUN_PREFIX}{next(CALL_NUMBERS):012x}",  # as the gateway numbers its calls: a prefix, a counter
        path="/api/llm-proxy/anthropic/v1/messages",
        method="POST",
        client_address="127.0.0.1",
    )


def _exchange() -> Exchange:
    exchange = request_exchange(REQUEST_HEADERS, canned.request_body("anthropic", "json-1k"), 1024 * 1024)
    exchange.reply(200, REPLY_HEADERS, False).add(canned.json_reply("anthropic").encode())
    return exchange


def _cpu_per_call(calls: int, batch: int, write: Callable[[int], None]) -> float:
    """CPU microseconds per call of `write(batch_number)` over `calls` calls in batches of `batch`."""
    started = time.process_time()
    for number in range(calls // batch):
        write(number)
    return (time.process_time() - started) / calls * 1e6


def usage_rows_cost(engine: Engine, calls: int, batch: int) -> float:
    statements = UsageStatements(engine.dialect)

    def write(_number: int) -> None:
        rows = [_usage_row() for _ in range(batch)]
        with engine.begin() as connection:
            insert_usage_records(connection, rows, statements)

    write(-1)  # warm-up: statements compiled, the connection opened
    return _cpu_per_call(calls, batch, write)


def bodies_cost(engine: Engine, calls: int, batch: int) -> tuple[float, float, float]:
    """(framing: headers redacted and the bytes joined, on the event loop; sealing: compress + encrypt; inserting
    the sealed rows, both in the writer's thread), CPU us per call."""
    sealer = BodySealer(secrets.token_urlsafe(32))
    writer = BodyWriter(engine, sealer, 1.0)
    exchanges = [_exchange() for _ in range(batch)]
    framing = _cpu_per_call(calls, batch, lambda _number: [encode_exchange(e) for e in exchanges])
    frames = [encode_exchange(exchange) for exchange in exchanges]
    sealing = _cpu_per_call(calls, batch, lambda _number: [sealer.seal(frame) for frame in frames])

    def write(number: int) -> None:
        now = datetime.now(UTC)
        writer._write([(f"call-{number}-{i}-{secrets.token_hex(4)}", now, frame) for i, frame in enumerate(frames)])

    write(-1)
    return framing, sealing, _cpu_per_call(calls, batch, write) - sealing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--usage-batch", type=int, default=500, help="rows per usage insert (the recorder's batch)")
    parser.add_argument("--body-batch", type=int, default=200, help="rows per body insert (BodyWriter's MAX_BATCH)")
    args = parser.parse_args()
    print(f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    with tempfile.TemporaryDirectory(prefix="call-log-writes-") as work:
        engine = make_engine(f"sqlite:///{Path(work) / 'gateway.db'}")
        upgrade_database(engine)
        with_indexes = usage_rows_cost(engine, args.calls, args.usage_batch)
        with engine.begin() as connection:
            for name in CALL_LOG_INDEXES:
                connection.execute(text(f'DROP INDEX "{name}"'))
        without_indexes = usage_rows_cost(engine, args.calls, args.usage_batch)
        framing, sealing, inserting = bodies_cost(engine, args.calls, args.body_batch)
        engine.dispose()
    print(f"load average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print("| what (SQLite, one thread) | CPU us per call |")
    print("|---|---:|")
    print(
        f"| usage row insert, batches of {args.usage_batch}, with the call log's listing indexes | {with_indexes:.1f} |"
    )
    print(f"| the same without them (client; status, outcome, session, key prefix partial) | {without_indexes:.1f} |")
    print(f"| body framed: headers redacted, bytes joined (1 KB request + 1 KB reply; event loop) | {framing:.1f} |")
    print(f"| frame compressed and sealed (writer thread) | {sealing:.1f} |")
    print(f"| sealed body rows inserted, batches of {args.body_batch} | {inserting:.1f} |")


if __name__ == "__main__":
    main()
