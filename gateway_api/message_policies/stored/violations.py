"""Violations go to the database from a worker thread, in batches (db/threaded_batches.py, as the call log's
bodies): the event loop only queues them; sealing the offending content and inserting happen in the thread.

At most MAX_QUEUED_BYTES of content waits; past it violations are dropped and counted rather than letting a
database outage grow memory. The content is sealed with its own key (calllog/sealing.py, purpose MESSAGE_POLICY_VIOLATIONS) and
never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert

from gateway_api.calllog.sealing import MESSAGE_POLICY_VIOLATIONS, BodySealer
from gateway_api.db.models import MessagePolicyViolation, utcnow
from gateway_api.db.threaded_batches import ThreadedBatchWriter
from gateway_api.message_policies.rules import Violation

log = logging.getLogger("gateway.message_policies")

MAX_QUEUED_BYTES = 64 * 1024 * 1024
MAX_BATCH = 500
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


class ViolationRecorder(ThreadedBatchWriter[_Pending]):
    what = "violations"

    def __init__(self, engine: Engine, sealer: BodySealer, flush_interval: float) -> None:
        super().__init__(flush_interval, MAX_QUEUED_BYTES, MAX_BATCH, log)
        self._engine = engine
        self.sealer = sealer  # the REST API opens stored content with it (auditors only)

    def record(
        self, violations: Sequence[Violation], user_id: int | None, api_key_id: int | None, call_id: str | None
    ) -> None:
        """Queue one call's violations (on the event loop). Never blocks, never raises."""
        now = utcnow()
        for violation in violations:
            size = len(violation.content) + len(violation.explanation) + 200
            self._queue(_Pending(violation, now, user_id, api_key_id, call_id), size)

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
