"""The call log's retention: stored bodies and refused calls' rows older than GATEWAY_LLM_LOG_RETENTION_DAYS are
deleted, in small batches (each its own short transaction, so neither writers nor readers wait long), by one
replica at a time: the one holding the ``maintenancelock`` lease row, taken with a conditional UPDATE that only
one replica's transaction can win, and given up when it expires (a replica that died mid-run does not block the
others for longer than LEASE).

Message policy violations (their sealed offending content) older than the same limit go too.

Forwarded calls' rows stay: they are the usage figures. Deleting refused rows takes them out of the rollups through
migration 0004's delete trigger, where they only ever counted requests of outcome "refused"."""

from __future__ import annotations

import logging
import os
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import Delete, Engine, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col

from gateway_api.calllog.listing import partial_index_conditions
from gateway_api.db.models import CallBody, MaintenanceLock, MessagePolicyViolation, Outcome, UsageRecord

log = logging.getLogger("gateway.calllog")

LOCK_NAME = "call-log-retention"
LEASE = timedelta(minutes=10)
BATCH = 1000
MAX_BATCHES_PER_RUN = 500  # a first run over a large backlog continues at the next run
PRUNE_INTERVAL = 3600.0


def holder_name() -> str:
    return f"{os.getpid()}-{secrets.token_hex(4)}"


def take_lease(engine: Engine, holder: str, now: datetime) -> bool:
    """Whether `holder` holds the pruning lease now (taken if free or expired, extended if already its own)."""
    expires = now + LEASE
    table = MaintenanceLock.__table__  # type: ignore[attr-defined]
    dialect_insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    with engine.begin() as connection:
        connection.execute(
            dialect_insert(table)
            .values(name=LOCK_NAME, holder="", expires_at=now - timedelta(seconds=1))
            .on_conflict_do_nothing(index_elements=["name"])
        )
    with engine.begin() as connection:
        taken = connection.execute(
            update(MaintenanceLock)
            .where(
                col(MaintenanceLock.name) == LOCK_NAME,
                (col(MaintenanceLock.expires_at) < now) | (col(MaintenanceLock.holder) == holder),
            )
            .values(holder=holder, expires_at=expires)
        )
        return taken.rowcount == 1


def release_lease(engine: Engine, holder: str, now: datetime) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(MaintenanceLock)
            .where(col(MaintenanceLock.name) == LOCK_NAME, col(MaintenanceLock.holder) == holder)
            .values(expires_at=now)
        )


def prune(engine: Engine, retention_days: int, holder: str, now: datetime | None = None, batch: int = BATCH) -> int:
    """One run: the rows deleted, or 0 when another replica holds the lease."""
    now = now or datetime.now(UTC)
    if not take_lease(engine, holder, now):
        return 0
    cutoff = now - timedelta(days=retention_days)
    deleted = 0
    try:
        for statement in (_old_bodies(cutoff, batch), _old_refusals(cutoff, batch), _old_violations(cutoff, batch)):
            for _ in range(MAX_BATCHES_PER_RUN):
                with engine.begin() as connection:
                    count = connection.execute(statement).rowcount
                deleted += count
                if count < batch:
                    break
    finally:
        release_lease(engine, holder, datetime.now(UTC))
    if deleted:
        log.info("call log retention: %d rows older than %d days deleted", deleted, retention_days)
    return deleted


def _old_bodies(cutoff: datetime, batch: int) -> Delete:
    oldest = select(col(CallBody.call_id)).where(col(CallBody.created_at) < cutoff).limit(batch)
    return delete(CallBody).where(col(CallBody.call_id).in_(oldest.scalar_subquery()))


def _old_refusals(cutoff: datetime, batch: int) -> Delete:
    oldest = (
        select(col(UsageRecord.id))
        .where(
            col(UsageRecord.outcome) == Outcome.refused,
            # The partial index's own condition, so that SQLite walks it.
            *partial_index_conditions({"outcome": Outcome.refused}),
            col(UsageRecord.created_at) < cutoff,
        )
        .limit(batch)
    )
    return delete(UsageRecord).where(col(UsageRecord.id).in_(oldest.scalar_subquery()))


def _old_violations(cutoff: datetime, batch: int) -> Delete:
    oldest = select(col(MessagePolicyViolation.id)).where(col(MessagePolicyViolation.created_at) < cutoff).limit(batch)
    return delete(MessagePolicyViolation).where(col(MessagePolicyViolation.id).in_(oldest.scalar_subquery()))
