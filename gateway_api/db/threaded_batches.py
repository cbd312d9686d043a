"""Rows the event loop queues and a worker thread writes in batches (call-log bodies, policy violations).

The loop only appends, never blocks, never raises. The queue is bounded by the bytes it holds: past the bound an
item is dropped and counted rather than letting a database outage or a flood grow memory. A batch the database
refuses goes back to the front of the queue and is retried, with a backoff, while it fits in that bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections import deque
from typing import Generic, TypeVar

Item = TypeVar("Item")
MAX_RETRY_DELAY = 2.0


class ThreadedBatchWriter(ABC, Generic[Item]):
    """Subclasses write one batch in `_write` (in the thread) and name what they hold in `what` (log lines)."""

    what = "rows"

    def __init__(self, flush_interval: float, max_queued_bytes: int, max_batch: int, log: logging.Logger) -> None:
        self._flush_interval = flush_interval
        self._max_queued_bytes = max_queued_bytes
        self._max_batch = max_batch
        self._log = log
        self._pending: deque[tuple[Item, int]] = deque()
        self._queued_bytes = 0
        self._lock = asyncio.Lock()
        self.written = 0
        self.dropped = 0
        self.write_failures = 0

    def _queue(self, item: Item, size: int) -> None:
        if self._queued_bytes + size > self._max_queued_bytes:
            self.dropped += 1
            return
        self._pending.append((item, size))
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
        """Write everything queued; False when a batch could not be written (it stays queued). Any error keeps the
        batch: one the database did not cause is retried and logged like an outage, rather than ending the writer's
        task and leaving everything after it unwritten for the life of the process."""
        async with self._lock:
            while self._pending:
                batch = [self._pending.popleft() for _ in range(min(self._max_batch, len(self._pending)))]
                try:
                    await asyncio.to_thread(self._write, [item for item, _ in batch])
                except Exception as exc:  # noqa: BLE001 - kept queued and logged by type only (items may hold bodies)
                    self.write_failures += 1
                    self._pending.extendleft(reversed(batch))
                    self._log.warning(
                        "%s not written, %d queued: %s", self.what, len(self._pending), type(exc).__name__
                    )
                    return False
                self.written += len(batch)
                self._queued_bytes -= sum(size for _, size in batch)
        return True

    @abstractmethod
    def _write(self, batch: list[Item]) -> None:
        """Write one batch (in the worker thread); raise to keep it queued."""

    async def close(self, deadline: float) -> None:
        """Write everything queued, calls finishing meanwhile included, retrying while the database is away, for up
        to `deadline` seconds."""

        async def drain() -> None:
            while self._pending:
                if not await self.flush():
                    await asyncio.sleep(self._flush_interval)

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(drain(), deadline)
        if self._pending:
            self._log.error("shutting down with %d %s unwritten", len(self._pending), self.what)
