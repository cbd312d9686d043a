"""Violations go to the database from a worker thread, in batches, like the call log's bodies (calllog/
body_writer.py): the event loop only queues them; sealing the offending content and inserting happen in the thread.

The queue is bounded by the bytes of content it holds (MAX_QUEUED_BYTES): past it, violations are dropped and
counted rather than letting a database outage grow memory. A batch that cannot be written stays queued and is
retried. The content is sealed with its own key (calllog/sealing.py, purpose MESSAGE_POLICY_VIOLATIONS) and
never logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert
from sqlalchemy.exc import SQLAlchemyError

from gateway_api.calllog.sealing import MESSAGE_POLICY_VIOLATIONS, BodySealer
from gateway_api.db.models import MessagePolicyViolation, utcnow
from gateway_api.message_policies.rules import Violation

log = logging.getLogger("gateway.message_policies")

MAX_QUEUED_BYTES = 64 * 1024 * 1024
MAX_BATCH = 500
MAX_RETRY_DELAY = 2.0
MAX_EXPLANATION = 1000


def violation_sealer(secret_key: str) -> BodySealer:
    return BodySealer(secret_key, MESSAGE_POLICY_VIOLATIONS)


@dataclass(frozen=True, slots=True)
class _Pending:
    violation: Violation
    created_at: datetime
    user_id: int | None
    api_key_id: int | None
    call_id: str | None
    size: int


class ViolationRecorder:
    def __init__(self, engine: Engine, sealer: BodySealer, flush_interval: float) -> None:
        self._engine = engine
        self.sealer = sealer  # the REST API opens stored content with it (auditors only)
        self._flush_interval = flush_interval
        self._pending: deque[_Pending] = deque()
        self._queued_bytes = 0
        self._lock = asyncio.Lock()
        self.written = 0
        self.dropped = 0
        self.write_failures = 0

    def record(
        self, violations: Sequence[Violation], user_id: int | None, api_key_id: int | None, call_id: str | None
    ) -> None:
        """Queue one call's violations (on the event loop). Never blocks, never raises."""
        now = utcnow()
        for violation in violations:
            size = len(violation.content) + len(violation.explanation) + 200
            if self._queued_bytes + size > MAX_QUEUED_BYTES:
                self.dropped += 1
                continue
            self._pending.append(_Pending(violation, now, user_id, api_key_id, call_id, size))
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
        """Write everything queued; False when the database refused a batch (it stays queued)."""
        async with self._lock:
            while self._pending:
                batch = [self._pending.popleft() for _ in range(min(MAX_BATCH, len(self._pending)))]
                try:
                    await asyncio.to_thread(self._write, batch)
                except (SQLAlchemyError, OSError) as exc:
                    self.write_failures += 1
                    self._pending.extendleft(reversed(batch))
                    log.warning("violations not written, %d queued: %s", len(self._pending), type(exc).__name__)
                    return False
                self.written += len(batch)
                self._queued_bytes -= sum(item.size for item in batch)
        return True

    def _write(self, batch: list[_Pending]) -> None:
        rows: list[dict[str, Any]] = [
            {
                "created_at": item.created_at,
                "policy_id": item.violation.policy_id,
                "policy_name": item.violation.policy_name,
                "user_id": item.user_id,
                "api_key_id": item.api_key_id,
                "scope": item.violation.scope.value,
                "action": item.violation.action.value,
                "explanation": item.violation.explanation[:MAX_EXPLANATION],
                "content_sealed": self.sealer.seal(item.violation.content.encode()),
                "call_id": item.call_id,
            }
            for item in batch
        ]
        with self._engine.begin() as connection:
            connection.execute(insert(MessagePolicyViolation), rows)

    async def close(self, deadline: float) -> None:
        try:
            await asyncio.wait_for(self.flush(), deadline)
        except TimeoutError:
            log.error("shutting down with %d violations unwritten", len(self._pending))
