"""Message policy violations (admin, auditor): newest first under filters, counts by policy / user / day, one in
detail. The offending content is for auditors alone (accounts/roles.py), and each reading of it is audited.
A violation's `call_id` finds its call in the call log: GET /api/llm-calls?call=<call_id>."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlmodel import Session

from gateway_api.accounts.audit import record_event
from gateway_api.accounts.roles import can_read_bodies
from gateway_api.api.crud import MAX_ID, IdPath, get_or_404
from gateway_api.api.deps import AdminUser, ServicesDep, SessionDep, require_admin
from gateway_api.api.errors import field_error
from gateway_api.api.routes.usage import utc_query_time
from gateway_api.calllog.sealing import BodySealer
from gateway_api.db.models import MessagePolicyViolation, User
from gateway_api.message_policies.rules import PolicyAction, PolicyScope
from gateway_api.message_policies.stored.violation_queries import (
    CursorError,
    Names,
    StatsBy,
    ViolationFilter,
    names_of,
    page,
    stats,
)

router = APIRouter(
    prefix="/message-policy-violations", tags=["message-policy-violations"], dependencies=[Depends(require_admin)]
)


class ViolationPublic(BaseModel):
    id: int
    created_at: datetime
    policy_id: int
    policy_name: str
    user_id: int | None
    user_email: str | None
    api_key_id: int | None
    key_name: str | None
    scope: str
    action: str
    explanation: str
    call_id: str | None


class ViolationsPage(BaseModel):
    items: list[ViolationPublic]
    next_cursor: str | None


class ViolationDetail(ViolationPublic):
    content: str | None  # auditors only; null for everyone else


class StatsRowPublic(BaseModel):
    key: str
    label: str
    count: int


class ViolationStats(BaseModel):
    rows: list[StatsRowPublic]


def _range(start: datetime | None, end: datetime | None) -> tuple[datetime | None, datetime | None]:
    start_at, end_at = utc_query_time(start, "from"), utc_query_time(end, "to")
    if start_at is not None and end_at is not None and end_at <= start_at:
        raise field_error("to", "must be after from", where="query")
    return start_at, end_at


def violation_filter(
    policy: Annotated[int | None, Query(ge=1, le=MAX_ID, description="policy id")] = None,
    user: Annotated[int | None, Query(ge=1, le=MAX_ID, description="user id")] = None,
    key: Annotated[int | None, Query(ge=1, le=MAX_ID, description="API key id")] = None,
    scope: PolicyScope | None = None,
    action: PolicyAction | None = None,
    call: Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[\w.-]+$")] = None,
    start: Annotated[datetime | None, Query(alias="from", description="inclusive (UTC if no offset)")] = None,
    end: Annotated[datetime | None, Query(alias="to", description="exclusive")] = None,
) -> ViolationFilter:
    start_at, end_at = _range(start, end)
    return ViolationFilter(policy, user, key, scope, action, call, start_at, end_at)


def _public(row: MessagePolicyViolation, names: Names) -> ViolationPublic:
    return ViolationPublic(
        id=row.id or 0,
        created_at=row.created_at,
        policy_id=row.policy_id,
        policy_name=row.policy_name,
        user_id=row.user_id,
        user_email=names.users.get(row.user_id) if row.user_id is not None else None,
        api_key_id=row.api_key_id,
        key_name=names.keys.get(row.api_key_id) if row.api_key_id is not None else None,
        scope=row.scope,
        action=row.action,
        explanation=row.explanation,
        call_id=row.call_id,
    )


@router.get("", response_model=ViolationsPage)
def list_violations(
    session: SessionDep,
    where: Annotated[ViolationFilter, Depends(violation_filter)],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page")] = None,
) -> ViolationsPage:
    """Violations matching the filters, newest first; never their content."""
    try:
        rows, next_cursor = page(session, where, limit, cursor)
    except CursorError:
        raise field_error("cursor", "not a cursor of this listing", where="query") from None
    names = names_of(session, rows)
    return ViolationsPage(items=[_public(r, names) for r in rows], next_cursor=next_cursor)


@router.get("/stats", response_model=ViolationStats)
def violation_stats(
    session: SessionDep,
    by: StatsBy = StatsBy.policy,
    start: Annotated[datetime | None, Query(alias="from", description="inclusive (UTC if no offset)")] = None,
    end: Annotated[datetime | None, Query(alias="to", description="exclusive")] = None,
) -> ViolationStats:
    """How many violations per policy, per user or per UTC day."""
    start_at, end_at = _range(start, end)
    rows = stats(session, by, start_at, end_at)
    return ViolationStats(rows=[StatsRowPublic(key=r.key, label=r.label, count=r.count) for r in rows])


@router.get("/{violation_id}", response_model=ViolationDetail)
def read_violation(
    violation_id: IdPath, session: SessionDep, user: AdminUser, services: ServicesDep
) -> ViolationDetail:
    """One violation; its offending content only for auditors (and that reading is audited)."""
    row = get_or_404(session, MessagePolicyViolation, violation_id, "violation")
    content = _content(session, row, user, services.violations.sealer) if can_read_bodies(user) else None
    public = _public(row, names_of(session, [row]))
    return ViolationDetail(**public.model_dump(), content=content)


def _content(session: Session, row: MessagePolicyViolation, user: User, sealer: BodySealer) -> str:
    try:
        content = sealer.open(row.content_sealed).decode(errors="replace")
    except ValueError:
        content = "[the content cannot be decrypted with this gateway's secret key]"
    # Who read which violation's content is itself part of the trail.
    record_event(session, user, "message_policy_violation.read_content", "message_policy_violation", row.id)
    session.commit()
    return content
