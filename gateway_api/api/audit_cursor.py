"""The opaque cursor of the audit trail's pages: the (time, id) of the last event shown, newest first."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import col

from gateway_api.db.models import AuditEvent


class BadCursor(ValueError):
    """The cursor was not made by this API (or was edited)."""


def encode_cursor(event: AuditEvent) -> str:
    raw = f"{event.created_at.astimezone(UTC).isoformat()}|{event.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, _, event_id = raw.partition("|")
        moment = datetime.fromisoformat(when)
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)), int(event_id)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadCursor("not a cursor this API made") from exc


def older_than(cursor: str) -> ColumnElement[bool]:
    """Events after the cursor's one in the newest-first order (same time: smaller id)."""
    moment, event_id = decode_cursor(cursor)
    created = col(AuditEvent.created_at)
    return or_(created < moment, and_(created == moment, col(AuditEvent.id) < event_id))
