"""Usage records are queued in memory and written in batches, off the response path.

A failed write (database away) keeps the batch queued and retries, so records are delayed, never lost while the
process lives; shutdown flushes what is left.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from datetime import datetime

from sqlalchemy import Engine, bindparam, update
from sqlmodel import col

from gateway_api.db.models import ApiKey
from gateway_api.usage.rows import UsageRow
from gateway_api.usage.writer import UsageStatements, insert_usage_records

log = logging.getLogger("gateway.usage")

MAX_BATCH = 1000
# While the database is away, retries back off up to this (seconds), so an outage is not a storm of attempts
# and log lines; rows written after it returns are delayed by at most this much.
MAX_RETRY_DELAY = 2.0
LAST_USED = update(ApiKey).where(col(ApiKey.id) == bindparam("key_id")).values(last_used_at=bindparam("used_at"))


class UsageRecorder:
    def __init__(self, engine: Engine, flush_interval: float) -> None:
        self._engine = engine
        self._flush_interval = flush_interval
        self._pending: deque[UsageRow] = deque()
        self._wakeup = asyncio.Event()
        self._write_lock = asyncio.Lock()
        self._statements: UsageStatements | None = None
        self.written = 0

    def record(self, row: UsageRow) -> None:
        """Queue one finished call's row. Never blocks, never raises."""
        self._pending.append(row)
        if len(self._pending) >= MAX_BATCH:
            self._wakeup.set()

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def run(self) -> None:
        delay = self._flush_interval
        while True:
            try:
                await asyncio.wait_for(self._wakeup.wait(), timeout=delay)
            except TimeoutError:
                pass
            self._wakeup.clear()
            written = await self.flush()
            delay = self._flush_interval if written else min(max(delay, self._flush_interval) * 2, MAX_RETRY_DELAY)

    async def flush(self) -> bool:
        """Write everything queued; False if the database refused (the rows stay queued)."""
        async with self._write_lock:
            while self._pending:
                batch = [self._pending.popleft() for _ in range(min(MAX_BATCH, len(self._pending)))]
                try:
                    await asyncio.to_thread(self._write, batch)
                except Exception as exc:  # noqa: BLE001 - any DB failure: keep the rows and retry later
                    self._pending.extendleft(reversed(batch))
                    log.warning("usage write failed, %d records queued: %s", len(self._pending), exc)
                    return False
                self.written += len(batch)
        return True

    async def close(self, deadline: float = 30.0) -> None:
        """Flush before exit, retrying while the database is away, up to ``deadline`` seconds."""
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + deadline
        while not await self.flush():
            if loop.time() >= give_up_at:
                log.error("shutting down with %d usage records unwritten", len(self._pending))
                return
            await asyncio.sleep(0.5)

    def _write(self, batch: list[UsageRow]) -> None:
        """Runs in a worker thread, one transaction: the records and their rollup sums, then the keys' last use.

        Statements compiled once and run as executemany: the ORM bulk insert spent most of its time in per-row
        Python while holding the GIL the event loop needs."""
        last_used: dict[int, datetime] = {}
        for row in batch:
            key_id = row.api_key_id
            if key_id is not None:
                last_used[key_id] = max(row.created_at, last_used.get(key_id, row.created_at))
        if self._statements is None:
            self._statements = UsageStatements(self._engine.dialect)
        with self._engine.begin() as connection:
            insert_usage_records(connection, batch, self._statements)
            # One executemany (a batch spread over many keys paid a statement round per key), in key order as the
            # rollup upserts, so concurrent writers take row locks in one order.
            if last_used:
                connection.execute(
                    LAST_USED, [{"key_id": key_id, "used_at": when} for key_id, when in sorted(last_used.items())]
                )
