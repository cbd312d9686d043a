"""Audit events (admin): every change made through the REST API, newest first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlmodel import col, func, select

from gateway_api.api.deps import SessionDep, require_admin
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


@router.get("", response_model=AuditEventsPage)
def list_audit_events(
    session: SessionDep,
    action: Annotated[
        str | None, Query(max_length=64, description='e.g. "provider.update", or "provider." prefix')
    ] = None,
    actor: Annotated[str | None, Query(max_length=320, description="actor email")] = None,
    target_type: Annotated[str | None, Query(max_length=32)] = None,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> AuditEventsPage:
    """Audit events matching the filters, newest first."""
    conditions = []
    if action:
        # "provider." lists every provider action; a full name matches exactly.
        conditions.append(
            col(AuditEvent.action).startswith(action) if action.endswith(".") else AuditEvent.action == action
        )
    if actor:
        conditions.append(AuditEvent.actor_email == actor.strip().lower())
    if target_type:
        conditions.append(AuditEvent.target_type == target_type)
    if target_id:
        conditions.append(AuditEvent.target_id == target_id)
    if since is not None:
        since = since.replace(tzinfo=UTC) if since.tzinfo is None else since
        conditions.append(col(AuditEvent.created_at) >= since.astimezone(UTC))
    total = session.exec(select(func.count()).select_from(AuditEvent).where(*conditions)).one()
    events = session.exec(
        select(AuditEvent)
        .where(*conditions)
        .order_by(col(AuditEvent.created_at).desc(), col(AuditEvent.id).desc())
        .limit(limit)
        .offset(offset)
    ).all()
    data = [AuditEventPublic.model_validate(e, from_attributes=True) for e in events]
    return AuditEventsPage(data=data, total=int(total), limit=limit, offset=offset)
