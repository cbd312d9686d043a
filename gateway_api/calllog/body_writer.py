"""Stored bodies go to the database from a worker thread, in batches: the event loop only queues each call's
exchange; building its document, compressing, encrypting and inserting all happen in the thread.

The queue is bounded by the bytes it holds (MAX_QUEUED_BYTES): past it, an exchange is dropped and counted
(gateway_call_log_bodies_dropped) rather than letting a database outage or a flood of large calls grow memory.
A batch that cannot be written is retried while it fits in that bound. Bodies are never logged."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from gateway_api.calllog.capture import Exchange
from gateway_api.calllog.sealing import BodySealer
from gateway_api.db.models import CallBody

log = logging.getLogger("gateway.calllog")

MAX_QUEUED_BYTES = 256 * 1024 * 1024
MAX_BATCH = 200
MAX_RETRY_DELAY = 2.0


class BodyWriter:
    def __init__(self, engine: Engine, sealer: BodySealer, flush_interval: float) -> None:
        self._engine = engine
        self._sealer = sealer
        self._flush_interval = flush_interval
        self._pending: deque[tuple[str, datetime, Exchange, int]] = deque()
        self._queued_bytes = 0
        self._lock = asyncio.Lock()
        self.written = 0
        self.dropped = 0
        self.write_failures = 0

    def add(self, call_id: str, created_at: datetime, exchange: Exchange) -> None:
        """Queue one call's exchange. Never blocks, never raises."""
        size = exchange.request.size + (exchange.response.size if exchange.response is not None else 0)
        if self._queued_bytes + size > MAX_QUEUED_BYTES:
            self.dropped += 1
            return
        self._pending.append((call_id, created_at, exchange, size))
        self._queued_bytes += size

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def run(self) -> None:
        delay = self._flush_interval
        while True:
            await asyncio.sleep(delay)
            delay = self._flush_interval if await self.flush() else min(delay * 2, MAX_RETRY_DELAY)

    async def flush(self) -> bool:
        async with self._lock:
            while self._pending:
                batch = [self._pending.popleft() for _ in range(min(MAX_BATCH, len(self._pending)))]
                try:
                    await asyncio.to_thread(self._write, batch)
                except (SQLAlchemyError, OSError) as exc:
                    self.write_failures += 1
                    self._pending.extendleft(reversed(batch))
                    log.warning("call bodies not written, %d queued: %s", len(self._pending), type(exc).__name__)
                    return False
                self.written += len(batch)
                self._queued_bytes -= sum(size for *_, size in batch)
        return True

    def _write(self, batch: list[tuple[str, datetime, Exchange, int]]) -> None:
        rows = [
            {"call_id": call_id, "created_at": created_at, "sealed": self._sealer.seal(exchange.document())}
            for call_id, created_at, exchange, _ in batch
        ]
        table = CallBody.__table__  # type: ignore[attr-defined]
        dialect_insert = postgresql.insert if self._engine.dialect.name == "postgresql" else sqlite.insert
        with self._engine.begin() as connection:
            connection.execute(dialect_insert(table).on_conflict_do_nothing(index_elements=["call_id"]), rows)

    async def close(self, deadline: float) -> None:
        try:
            await asyncio.wait_for(self.flush(), deadline)
        except TimeoutError:
            log.error("shutting down with %d call bodies unwritten", len(self._pending))
