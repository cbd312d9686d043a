"""Tests insert usage records as the gateway does: through the writer, which also fills the rollups."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlmodel import Session

from gateway_api.db.models import UsageRecord
from gateway_api.usage.writer import insert_usage_records


def insert_usage(session: Session, rows: Iterable[Mapping[str, Any] | UsageRecord]) -> None:
    """Insert records (column values, or unsaved UsageRecord objects) in the session's transaction; the caller
    commits."""
    values = [row.model_dump(exclude={"id"}) if isinstance(row, UsageRecord) else row for row in rows]
    insert_usage_records(session.connection(), values)
