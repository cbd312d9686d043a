"""Usage records are queued in memory and written in batches, off the response path.

A failed write (database away) keeps the batch queued and retries, so records are delayed, never lost while the
process lives; shutdown flushes what is left. A batch the database refuses is bisected and the refused rows become
dead letters (batch_writes.py); each row's figures are checked as it is queued (validation.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable

from sqlalchemy import Engine

from gateway_api.metrics.registry import GatewayMetrics
from gateway_api.usage.batch_writes import BatchWriter
from gateway_api.usage.rows import UsageRow
from gateway_api.usage.spool import UsageSpool
from gateway_api.usage.validation import correct_row

log = logging.getLogger("gateway.usage")

MAX_BATCH = 1000
# While the database is away, retries back off up to this (seconds), so an outage is not a storm of attempts
# and log lines; rows written after it returns are delayed by at most this much.
MAX_RETRY_DELAY = 2.0


class UsageRecorder:
    def __init__(self, engine: Engine, flush_interval: float, on_settled: Callable[[int], None] | None = None) -> None:
        self._engine = engine
        # Told how many queued rows the database took (in queue order): the spool's acknowledgement.
        self._on_settled = on_settled
        self._flush_interval = flush_interval
        self._pending: deque[UsageRow] = deque()
        self._wakeup = asyncio.Event()
        self._write_lock = asyncio.Lock()
        self._writer = BatchWriter(engine)
        self.written = 0
        self.dead_letters = 0  # rows the database refused, kept in usagedeadletter
        self.write_failures = 0  # batch writes that could not reach the database
        self.corrected_values = 0  # usage figures clamped or dropped (validation.py)
        self.failing_since: float | None = None  # monotonic time of the first failure of the current outage
        self.last_error: str | None = None

    def record(self, row: UsageRow) -> None:
        """Queue one finished call's row. Never blocks, never raises."""
        corrected = row.tokens.corrected + correct_row(row)
        if corrected:
            self.corrected_values += corrected
        self._pending.append(row)
        if len(self._pending) >= MAX_BATCH:
            self._wakeup.set()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def failing_seconds(self) -> float:
        """How long writes have been failing (0 while they succeed)."""
        return 0.0 if self.failing_since is None else time.monotonic() - self.failing_since

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
        """Write everything queued; False if the database could not be reached (the unwritten rows stay queued)."""
        async with self._write_lock:
            while self._pending:
                batch = [self._pending.popleft() for _ in range(min(MAX_BATCH, len(self._pending)))]
                settled = await asyncio.to_thread(self._writer.settle, batch)
                self.written += settled.done - settled.dead
                self.dead_letters += settled.dead
                if self._on_settled is not None and settled.done:
                    self._on_settled(settled.done)
                if settled.error is not None:
                    self._pending.extendleft(reversed(batch[settled.done :]))
                    self.write_failures += 1
                    self.last_error = type(settled.error).__name__
                    if self.failing_since is None:
                        self.failing_since = time.monotonic()
                    log.warning("usage write failed, %d records queued: %s", len(self._pending), settled.error)
                    return False
        self.failing_since = self.last_error = None
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


def watch_usage_writer(metrics: GatewayMetrics, recorder: UsageRecorder) -> None:
    """The writer's health in /metrics, read at scrape time (the backlog is gateway_state{what=usage_records_queued})."""
    metrics.count("gateway_usage_records_written", "Usage records written to the database.", lambda: recorder.written)
    metrics.count(
        "gateway_usage_write_failures",
        "Usage batch writes that could not reach the database (the rows stay queued and are retried).",
        lambda: recorder.write_failures,
    )
    metrics.count(
        "gateway_usage_dead_letters",
        "Usage rows the database refused, kept in the usagedeadletter table with the reason.",
        lambda: recorder.dead_letters,
    )
    metrics.count(
        "gateway_usage_values_corrected",
        "Usage figures from upstreams clamped or dropped as out of range or not counts.",
        lambda: recorder.corrected_values,
    )
    metrics.watch("usage_writer_failing_seconds", lambda: recorder.failing_seconds())


def watch_usage_spool(metrics: GatewayMetrics, spool: UsageSpool) -> None:
    """The spool's state in /metrics, read at scrape time."""
    metrics.watch("usage_spool_rows_not_in_database", lambda: spool.unacknowledged)
    metrics.watch("usage_spool_orphans_waiting", lambda: spool.orphans_waiting)
    metrics.count(
        "gateway_usage_spool_replayed_rows",
        "Rows of orphaned spool files (a crashed or stopped process's) this process wrote to the database.",
        lambda: spool.replayed_rows,
    )
    metrics.count(
        "gateway_usage_spool_sync_failures",
        "Spool writes that failed (disk full, I/O error).",
        lambda: spool.sync_failures,
    )
