"""The LLM call log (admin): every proxied call, refused ones too, newest first; one call in detail; a JSONL export
of any number of calls in bounded memory. Bodies appear only in the detail of a call and in an export that asks for
them (`bodies=true`), for those who may read them (auditors only: accounts/roles.py), and only when the gateway
stores them (GATEWAY_LLM_LOG_BODIES); every such read is an audit event."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from gateway_api.accounts.audit import record_event
from gateway_api.accounts.roles import can_read_bodies
from gateway_api.api.crud import MAX_ID
from gateway_api.api.deps import AdminUser, ServicesDep, SessionDep, require_admin
from gateway_api.api.errors import field_error
from gateway_api.api.routes.usage import utc_query_time
from gateway_api.calllog.listing import CallFilter, CursorError, Names, decode_cursor, names_of, page, walk
from gateway_api.calllog.sealing import BodySealer
from gateway_api.calllog.stored_exchange import decode_exchange
from gateway_api.db.models import CallBody, Outcome, UsageRecord
from gateway_api.usage.system_actor import MESSAGE_POLICY_JUDGE, is_judge_call

router = APIRouter(prefix="/llm-calls", tags=["llm-calls"], dependencies=[Depends(require_admin)])

EXPORT_BATCH = 1000
# With bodies (up to 2 x GATEWAY_LLM_LOG_MAX_BODY_BYTES each) a batch holds fewer calls, to keep memory bounded.
EXPORT_BODIES_BATCH = 50
UNREADABLE_BODIES = {"error": "the stored bodies cannot be decrypted with this gateway's secret key"}


class LlmCallPublic(BaseModel):
    id: int
    created_at: datetime
    user_id: int | None
    user_email: str | None
    actor: str | None = None  # who made a call without a user: the gateway's message policy judge
    api_key_id: int | None
    api_key_name: str | None
    api_key_prefix: str | None  # the key's, or for an unknown key the prefix presented
    provider: str
    provider_kind: str
    model: str
    endpoint: str
    path: str | None
    method: str | None
    streamed: bool
    status_code: int
    outcome: Outcome
    refusal_reason: str | None
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    reasoning_effort: str | None
    cost_usd: float
    usage_estimated: bool
    latency_ms: float
    ttfb_ms: float | None
    client: str
    client_address: str | None
    session_id: str | None
    request_id: str | None
    call_id: str | None


class LlmCallsPage(BaseModel):
    data: list[LlmCallPublic]
    next_cursor: str | None


class LlmCallDetail(LlmCallPublic):
    bodies: dict[str, Any] | None = None  # request and response, when stored and readable by the caller
    bodies_readable: bool  # whether this caller may read bodies at all


def call_filter(
    user: Annotated[int | None, Query(ge=1, le=MAX_ID, description="user id")] = None,
    key: Annotated[int | None, Query(ge=1, le=MAX_ID, description="API key id")] = None,
    provider: Annotated[str | None, Query(max_length=100, description="provider name")] = None,
    model: Annotated[str | None, Query(max_length=200)] = None,
    status_code: Annotated[int | None, Query(alias="status", ge=100, le=599)] = None,
    outcome: Outcome | None = None,
    client: Annotated[str | None, Query(max_length=300, description="user agent, exactly")] = None,
    session: Annotated[str | None, Query(max_length=200, description="client session id")] = None,
    start: Annotated[datetime | None, Query(alias="from", description="inclusive (UTC if no offset)")] = None,
    end: Annotated[datetime | None, Query(alias="to", description="exclusive")] = None,
    q: Annotated[str | None, Query(max_length=200, description="part of a model, user or key name")] = None,
    call: Annotated[
        str | None, Query(max_length=64, description="the gateway's call id (x-gateway-request-id)")
    ] = None,
) -> CallFilter:
    texts = {"provider": provider, "model": model, "client": client, "session": session, "q": q, "call": call}
    for name, value in texts.items():
        if value is not None and "\x00" in value:
            raise field_error(name, "must not contain NUL characters", where="query")
    start_at, end_at = utc_query_time(start, "from"), utc_query_time(end, "to")
    if start_at is not None and end_at is not None and end_at <= start_at:
        raise field_error("to", "must be after from", where="query")
    return CallFilter(
        user_id=user,
        api_key_id=key,
        provider=provider or None,
        model=model or None,
        status=status_code,
        outcome=outcome,
        client=client or None,
        session_id=session or None,
        start=start_at,
        end=end_at,
        text=q.strip() or None if q else None,
        call_id=call or None,
    )


CallFilterDep = Annotated[CallFilter, Depends(call_filter)]


def _public(row: UsageRecord, names: Names) -> dict[str, Any]:
    values = row.model_dump()
    key_name, key_prefix = names.keys.get(row.api_key_id or 0, (None, None))
    values["user_email"] = names.users.get(row.user_id or 0)
    values["actor"] = MESSAGE_POLICY_JUDGE if is_judge_call(row.user_id, row.endpoint) else None
    values["api_key_name"] = key_name
    values["api_key_prefix"] = key_prefix or row.key_prefix
    return values


@router.get("", response_model=LlmCallsPage)
def list_llm_calls(
    session: SessionDep,
    call_filter: CallFilterDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page")] = None,
) -> LlmCallsPage:
    """Calls matching the filters, newest first; never their bodies."""
    try:
        after = decode_cursor(cursor) if cursor else None
    except CursorError:
        raise field_error("cursor", "not a cursor of this listing", where="query") from None
    rows, next_cursor = page(session, call_filter, limit, after)
    names = names_of(session, rows)
    return LlmCallsPage(
        data=[LlmCallPublic.model_validate(_public(row, names)) for row in rows], next_cursor=next_cursor
    )


@router.get("/export")
def export_llm_calls(
    session: SessionDep,
    user: AdminUser,
    services: ServicesDep,
    call_filter: CallFilterDep,
    bodies: Annotated[bool, Query(description="each call's stored bodies too (auditors only)")] = False,
) -> StreamingResponse:
    """Every matching call as one JSON object per line, newest first, read in batches (any number of rows)."""
    sealer = None
    if bodies:
        if not can_read_bodies(user):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "only auditors may read call bodies")
        sealer = services.call_log.sealer
        # One event for the whole export, with the filter that chose its calls.
        record_event(session, user, "llm_call.export_bodies", "llm_call", None, after=_filter_details(call_filter))
        session.commit()
    return StreamingResponse(
        _jsonl(services.engine, call_filter, sealer),
        media_type="application/x-ndjson",
        headers={"content-disposition": 'attachment; filename="llm-calls.jsonl"'},
    )


def _filter_details(call_filter: CallFilter) -> dict[str, Any]:
    return {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name, value in vars(call_filter).items()
        if value is not None
    }


def _jsonl(engine: Engine, call_filter: CallFilter, sealer: BodySealer | None) -> Iterator[bytes]:
    for rows in walk(engine, call_filter, EXPORT_BATCH if sealer is None else EXPORT_BODIES_BATCH):
        with Session(engine) as session:
            names = names_of(session, rows)
            stored = _stored_bodies(session, rows, sealer) if sealer is not None else None
        lines = []
        for row in rows:
            values = LlmCallPublic.model_validate(_public(row, names)).model_dump(mode="json")
            if stored is not None:
                values["bodies"] = stored.get(row.call_id or "")
            lines.append(orjson.dumps(values) + b"\n")
        yield b"".join(lines)


def _stored_bodies(session: Session, rows: list[UsageRecord], sealer: BodySealer) -> dict[str, Any]:
    call_ids = [row.call_id for row in rows if row.call_id is not None]
    if not call_ids:
        return {}
    found = session.exec(select(CallBody).where(col(CallBody.call_id).in_(call_ids)))
    return {stored.call_id: _opened(sealer, stored.sealed) for stored in found}


def _opened(sealer: BodySealer, sealed: bytes) -> dict[str, Any]:
    try:
        return decode_exchange(sealer.open(sealed))
    except ValueError:
        return UNREADABLE_BODIES


@router.get("/{call_id}", response_model=LlmCallDetail)
def get_llm_call(
    call_id: Annotated[int, Path(ge=1, le=MAX_ID)], session: SessionDep, user: AdminUser, services: ServicesDep
) -> LlmCallDetail:
    """One call; its bodies (request and response, headers redacted) only for those who may read them."""
    row = session.get(UsageRecord, call_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such call")
    readable = can_read_bodies(user)
    bodies = None
    if readable and row.call_id is not None:
        stored = session.get(CallBody, row.call_id)
        if stored is not None:
            bodies = _opened(services.call_log.sealer, stored.sealed)
            # Who read which call's bodies is itself part of the trail.
            record_event(session, user, "llm_call.read_body", "llm_call", call_id)
            session.commit()
    values = _public(row, names_of(session, [row]))
    return LlmCallDetail.model_validate({**values, "bodies_readable": readable, "bodies": bodies})
