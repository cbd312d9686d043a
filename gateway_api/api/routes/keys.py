"""API keys: everyone manages their own; admins list and revoke anyone's. Secrets are shown once."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field, model_validator
from sqlmodel import Session, col, select

from gateway_api.accounts.api_keys import expiry_from_days, issue_key, revoke_key
from gateway_api.accounts.audit import record_event
from gateway_api.accounts.key_rules import MINTABLE_SCOPES, NON_EXPIRING_REFUSAL, may_mint_non_expiring
from gateway_api.accounts.roles import AUDITOR_REFUSAL, can_read_everything
from gateway_api.api.crud import MAX_ID, IdPath, commit_config_change
from gateway_api.api.deps import CurrentUser, ServicesDep, SessionDep
from gateway_api.api.errors import field_error, not_found
from gateway_api.core.names import OptionalName
from gateway_api.db.models import ApiKey, Role, Scope, User, utcnow

router = APIRouter(prefix="/keys", tags=["keys"])

MAX_EXPIRY_DAYS = 3650


class KeyStatus(StrEnum):
    active = "active"
    expired = "expired"
    revoked = "revoked"


class KeyCreate(BaseModel):
    name: OptionalName = ""
    scope: Scope = Field(
        default=Scope.llm,
        description="llm: call the proxy; api: the REST API (automation). ui keys are browser sessions: sign in",
    )
    expires_in_days: int | None = Field(default=None, ge=1, le=MAX_EXPIRY_DAYS)
    no_expiration: bool = False
    user_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="admins: issue for another user")

    @model_validator(mode="after")
    def _one_expiry(self) -> KeyCreate:
        if self.no_expiration and self.expires_in_days is not None:
            raise ValueError("give either expires_in_days or no_expiration, not both")
        return self


class KeyPublic(BaseModel):
    id: int
    user_id: int
    user_email: str
    name: str
    prefix: str
    scopes: list[Scope]
    status: KeyStatus
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class KeysPublic(BaseModel):
    data: list[KeyPublic]
    count: int


class KeyCreated(KeyPublic):
    secret: str = Field(description="the key itself: shown only in this response, store it now")


def key_public(key: ApiKey, owner_email: str) -> KeyPublic:
    now = utcnow()
    if key.revoked_at is not None:
        key_status = KeyStatus.revoked
    elif key.expires_at is not None and key.expires_at <= now:
        key_status = KeyStatus.expired
    else:
        key_status = KeyStatus.active
    return KeyPublic(
        id=key.id or 0,
        user_id=key.user_id,
        user_email=owner_email,
        name=key.name,
        prefix=key.prefix,
        scopes=sorted(Scope(s) for s in key.scope_set),
        status=key_status,
        created_at=key.created_at,
        expires_at=key.expires_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
    )


def _audit_view(key: ApiKey, owner_email: str) -> dict[str, Any]:
    return key_public(key, owner_email).model_dump(
        mode="json", include={"user_email", "name", "prefix", "scopes", "expires_at", "revoked_at"}
    )


def _visible_key(session: Session, user: User, key_id: int) -> tuple[ApiKey, str]:
    """The key if the caller may see it; another user's key is "not found", not "forbidden" (no probing)."""
    row = session.exec(
        select(ApiKey, User.email).join(User, col(User.id) == col(ApiKey.user_id)).where(ApiKey.id == key_id)
    ).first()
    if row is not None and row[0].user_id != user.id and user.role == Role.auditor:
        raise HTTPException(status.HTTP_403_FORBIDDEN, AUDITOR_REFUSAL)
    if row is None or (user.role != Role.admin and row[0].user_id != user.id):
        raise not_found("key", key_id)
    return row[0], row[1]


@router.get("", response_model=KeysPublic)
def list_keys(
    user: CurrentUser,
    session: SessionDep,
    all_users: Annotated[bool, Query(alias="all", description="admins: every user's keys")] = False,
    user_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="admins: this user's keys")] = None,
    include_inactive: Annotated[bool, Query(description="also list revoked and expired keys")] = False,
) -> KeysPublic:
    """List your keys (admins: anyone's, with all=true or user_id)."""
    if not can_read_everything(user) and (all_users or (user_id is not None and user_id != user.id)):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only admins can list other users' keys")
    query = select(ApiKey, User.email).join(User, col(User.id) == col(ApiKey.user_id))
    if user_id is not None:
        query = query.where(ApiKey.user_id == user_id)
    elif not all_users:
        query = query.where(ApiKey.user_id == user.id)
    if not include_inactive:
        now = utcnow()
        query = query.where(
            col(ApiKey.revoked_at).is_(None), col(ApiKey.expires_at).is_(None) | (col(ApiKey.expires_at) > now)
        )
    rows = session.exec(query.order_by(col(ApiKey.created_at).desc(), col(ApiKey.id).desc())).all()
    data = [key_public(key, email) for key, email in rows]
    return KeysPublic(data=data, count=len(data))


@router.post("", response_model=KeyCreated, status_code=status.HTTP_201_CREATED)
def create_key(body: KeyCreate, user: CurrentUser, session: SessionDep, services: ServicesDep) -> KeyCreated:
    """Create a key; the response carries the secret, which is never shown again."""
    is_admin = user.role == Role.admin
    if body.scope not in MINTABLE_SCOPES:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "ui keys are browser sessions and come from signing in; use scope llm or api"
        )
    if body.no_expiration and not may_mint_non_expiring(user, services.settings):
        raise HTTPException(status.HTTP_403_FORBIDDEN, NON_EXPIRING_REFUSAL)
    owner = user
    if body.user_id is not None and body.user_id != user.id:
        if not is_admin:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "only admins can create keys for other users")
        found = session.get(User, body.user_id)
        if found is None:
            raise field_error("user_id", f"user {body.user_id} does not exist")
        if not found.active:
            raise field_error("user_id", f"user {found.email} is deactivated")
        owner = found
    days = None if body.no_expiration else (body.expires_in_days or services.settings.default_key_expiry_days)
    key, secret = issue_key(
        session, services.key_pepper, owner, {body.scope}, name=body.name, expires_at=expiry_from_days(days)
    )
    record_event(session, user, "key.create", "api_key", key.id, after=_audit_view(key, owner.email))
    commit_config_change(session, services)
    return KeyCreated(**key_public(key, owner.email).model_dump(), secret=secret)


@router.delete("/{key_id}", response_model=KeyPublic)
def revoke_key_route(key_id: IdPath, user: CurrentUser, session: SessionDep, services: ServicesDep) -> KeyPublic:
    """Revoke a key (yours, or anyone's for admins); it stops working at once."""
    key, owner_email = _visible_key(session, user, key_id)
    if key.revoked_at is None:
        before = _audit_view(key, owner_email)
        revoke_key(session, key)
        record_event(session, user, "key.revoke", "api_key", key.id, before=before, after=_audit_view(key, owner_email))
        commit_config_change(session, services)
    return key_public(key, owner_email)
