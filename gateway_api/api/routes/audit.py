"""Audit events (admins and auditors): every change made through the REST API, the CLI or the config file,
newest first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement
from sqlmodel import col, func, select

from gateway_api.api.audit_cursor import BadCursor, encode_cursor, older_than
from gateway_api.api.deps import SessionDep, require_admin
from gateway_api.api.errors import field_error
from gateway_api.db.models import AuditEvent

router = APIRouter(prefix="/audit", tags=["audit"], dependencies=[Depends(require_admin)])


class AuditEventPublic(BaseModel):
    id: int
    created_at: datetime
    actor_user_id: int | None
    actor_email: str
    action: str
    target_type: str
    target_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditEventsPage(BaseModel):
    data: list[AuditEventPublic]
    total: int
    limit: int
    offset: int
    next_cursor: str | None = Field(
        default=None, description="pass as `cursor` for the next (older) page; null on the last page"
    )


def _aware(moment: datetime) -> datetime:
    return (moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment).astimezone(UTC)


@router.get("", response_model=AuditEventsPage)
def list_audit_events(
    session: SessionDep,
    action: Annotated[
        str | None, Query(max_length=64, description='e.g. "provider.update", or "provider." prefix')
    ] = None,
    actor: Annotated[
        str | None, Query(max_length=320, description='actor email, or "cli" / "config" for changes made there')
    ] = None,
    target: Annotated[
        str | None, Query(max_length=100, description='object type ("user"), or type and id ("user:12")')
    ] = None,
    target_type: Annotated[str | None, Query(max_length=32)] = None,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
    from_: Annotated[datetime | None, Query(alias="from", description="events at or after this time")] = None,
    to: Annotated[datetime | None, Query(description="events before this time")] = None,
    since: Annotated[datetime | None, Query(description="same as `from` (kept for older clients)")] = None,
    cursor: Annotated[str | None, Query(max_length=200, description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> AuditEventsPage:
    """Audit events matching the filters, newest first. Page with `cursor` (stable while events are added);
    `offset` still works for small jumps."""
    conditions: list[ColumnElement[bool]] = []
    if action:
        # "provider." lists every provider action; a full name matches exactly.
        conditions.append(
            col(AuditEvent.action).startswith(action) if action.endswith(".") else col(AuditEvent.action) == action
        )
    if actor:
        conditions.append(col(AuditEvent.actor_email) == actor.strip().lower())
    if target:
        kind, _, object_id = target.partition(":")
        conditions.append(col(AuditEvent.target_type) == kind.strip())
        if object_id:
            conditions.append(col(AuditEvent.target_id) == object_id.strip())
    if target_type:
        conditions.append(col(AuditEvent.target_type) == target_type)
    if target_id:
        conditions.append(col(AuditEvent.target_id) == target_id)
    for start in (from_, since):
        if start is not None:
            conditions.append(col(AuditEvent.created_at) >= _aware(start))
    if to is not None:
        conditions.append(col(AuditEvent.created_at) < _aware(to))
    total = session.exec(select(func.count()).select_from(AuditEvent).where(*conditions)).one()
    page_conditions = list(conditions)
    if cursor:
        try:
            page_conditions.append(older_than(cursor))
        except BadCursor:
            raise field_error("cursor", "not a cursor this API made; start again without it", "query") from None
    events = session.exec(
        select(AuditEvent)
        .where(*page_conditions)
        .order_by(col(AuditEvent.created_at).desc(), col(AuditEvent.id).desc())
        .limit(limit + 1)
        .offset(offset)
    ).all()
    shown = events[:limit]
    next_cursor = encode_cursor(shown[-1]) if len(events) > limit else None
    data = [AuditEventPublic.model_validate(e, from_attributes=True) for e in shown]
    return AuditEventsPage(data=data, total=int(total), limit=limit, offset=offset, next_cursor=next_cursor)
