"""Limits: per user and per API key overrides (admins set them), and what you yourself are held to and have used.

Overrides are stored in `UsageLimit`; a change bumps the catalog version, so every replica's proxy applies it.
"""

from __future__ import annotations

import asyncio
from typing import Literal, TypedDict, Unpack

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, select

from gateway_api.accounts.audit import record_event
from gateway_api.accounts.roles import can_read_everything
from gateway_api.api.crud import IdPath, commit_config_change, get_or_404
from gateway_api.api.deps import AdminUser, CurrentUser, ServicesDep, SessionDep, require_admin
from gateway_api.api.errors import not_found
from gateway_api.db.models import ApiKey, Role, UsageLimit, User, utcnow
from gateway_api.limits.limiter import Limiter
from gateway_api.limits.rules import (
    NO_LIMITS,
    LimitKind,
    LimitRule,
    LimitSource,
    LimitValues,
    effective_rules,
    user_subject,
)

router = APIRouter(tags=["limits"])

MAX_TOKENS = 10**15
MAX_REQUESTS_PER_MINUTE = 10**9
MAX_USD = 1e12
MAX_CONCURRENT_CALLS = 10**6


class LimitsBody(BaseModel):
    """Each field: a limit (0 blocks), or null to inherit (a key from its user, a user from the defaults)."""

    model_config = ConfigDict(extra="forbid")

    input_token_quota: int | None = Field(default=None, ge=0, le=MAX_TOKENS, description="per token window")
    output_token_quota: int | None = Field(default=None, ge=0, le=MAX_TOKENS, description="per token window")
    requests_per_minute: int | None = Field(default=None, ge=0, le=MAX_REQUESTS_PER_MINUTE)
    daily_budget_usd: float | None = Field(default=None, ge=0, le=MAX_USD, allow_inf_nan=False)
    monthly_budget_usd: float | None = Field(default=None, ge=0, le=MAX_USD, allow_inf_nan=False)
    max_concurrent_calls: int | None = Field(
        default=None, ge=0, le=MAX_CONCURRENT_CALLS, description="in flight at once"
    )

    def values(self) -> LimitValues:
        return LimitValues(**self.model_dump())


class EffectiveLimit(BaseModel):
    kind: LimitKind
    limit: float | None = Field(description="null: unlimited")
    source: LimitSource | None = Field(description="where the limit comes from: key, user or default")


class LimitsPublic(BaseModel):
    subject: Literal["user", "api_key"]
    id: int
    token_window_hours: float
    overrides: LimitsBody
    effective: list[EffectiveLimit]


class LimitStatus(EffectiveLimit):
    used: float | None = Field(description="use in the current window; null for a request rate nobody limits")
    remaining: float | None


class KeyLimitStatus(BaseModel):
    id: int
    prefix: str
    limits: list[LimitStatus]


class MyLimits(BaseModel):
    token_window_hours: float
    account: list[LimitStatus] = Field(description="your limits for calls through keys without their own")
    keys: list[KeyLimitStatus] = Field(description="your keys that have limits of their own")


def _stored(session: Session, *, user_id: int | None = None, key_id: int | None = None) -> UsageLimit | None:
    column = UsageLimit.user_id if user_id is not None else UsageLimit.api_key_id
    return session.exec(select(UsageLimit).where(column == (user_id if user_id is not None else key_id))).first()


def _overrides(row: UsageLimit | None) -> LimitsBody:
    if row is None:
        return LimitsBody()
    return LimitsBody(**{kind.value: getattr(row, kind.value) for kind in LimitKind})


def _effective(rules: tuple[LimitRule, ...]) -> list[EffectiveLimit]:
    by_kind = {rule.kind: rule for rule in rules}
    return [
        EffectiveLimit(kind=kind, limit=rule.limit, source=rule.source)
        if (rule := by_kind.get(kind))
        else EffectiveLimit(kind=kind, limit=None, source=None)
        for kind in LimitKind
    ]


def _public(
    limiter: Limiter,
    subject: Literal["user", "api_key"],
    ident: int,
    overrides: LimitsBody,
    rules: tuple[LimitRule, ...],
) -> LimitsPublic:
    return LimitsPublic(
        subject=subject,
        id=ident,
        token_window_hours=limiter.window_seconds / 3600,
        overrides=overrides,
        effective=_effective(rules),
    )


class _Owner(TypedDict, total=False):
    user_id: int
    api_key_id: int


def _save(session: Session, row: UsageLimit | None, body: LimitsBody, **owner: Unpack[_Owner]) -> None:
    if body.values().empty:
        if row is not None:
            session.delete(row)
        return
    row = row or UsageLimit(**owner)
    for name, value in body.model_dump().items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    session.add(row)


def _user_rules(
    limiter: Limiter, user: User, overrides: LimitsBody, key: LimitsBody | None = None, key_id: int | None = None
) -> tuple[LimitRule, ...]:
    return effective_rules(
        limiter.defaults,
        user.id or 0,
        user.role == Role.admin,
        overrides.values(),
        key_id,
        key.values() if key is not None else NO_LIMITS,
    )


@router.get("/users/{user_id}/limits", response_model=LimitsPublic, dependencies=[Depends(require_admin)])
def read_user_limits(user_id: IdPath, session: SessionDep, services: ServicesDep) -> LimitsPublic:
    """A user's overrides and the limits their calls get (through keys without limits of their own)."""
    user = get_or_404(session, User, user_id, "user")
    overrides = _overrides(_stored(session, user_id=user_id))
    return _public(services.limits, "user", user_id, overrides, _user_rules(services.limits, user, overrides))


@router.put("/users/{user_id}/limits", response_model=LimitsPublic)
def set_user_limits(
    user_id: IdPath, body: LimitsBody, admin: AdminUser, session: SessionDep, services: ServicesDep
) -> LimitsPublic:
    """Replace a user's overrides (null fields inherit the defaults; admins have no defaults)."""
    user = get_or_404(session, User, user_id, "user")
    row = _stored(session, user_id=user_id)
    before = _overrides(row)
    _save(session, row, body, user_id=user_id)
    record_event(session, admin, "limits.update", "user", user_id, before=before.model_dump(), after=body.model_dump())
    commit_config_change(session, services)
    return _public(services.limits, "user", user_id, body, _user_rules(services.limits, user, body))


def _key_with_owner(session: Session, caller: User, key_id: int) -> tuple[ApiKey, User]:
    """The key if the caller may see it: another user's key is "not found", not "forbidden" (no probing)."""
    key = session.get(ApiKey, key_id)
    owner = session.get(User, key.user_id) if key is not None else None
    if key is None or owner is None or (not can_read_everything(caller) and key.user_id != caller.id):
        raise not_found("key", key_id)
    return key, owner


def _key_public(session: Session, limiter: Limiter, key: ApiKey, owner: User, overrides: LimitsBody) -> LimitsPublic:
    user_overrides = _overrides(_stored(session, user_id=owner.id))
    rules = _user_rules(limiter, owner, user_overrides, overrides, key.id)
    return _public(limiter, "api_key", key.id or 0, overrides, rules)


@router.get("/keys/{key_id}/limits", response_model=LimitsPublic)
def read_key_limits(key_id: IdPath, user: CurrentUser, session: SessionDep, services: ServicesDep) -> LimitsPublic:
    """A key's overrides and the limits its calls get (the key's own, else its user's, else the defaults)."""
    key, owner = _key_with_owner(session, user, key_id)
    return _key_public(session, services.limits, key, owner, _overrides(_stored(session, key_id=key_id)))


@router.put("/keys/{key_id}/limits", response_model=LimitsPublic)
def set_key_limits(
    key_id: IdPath, body: LimitsBody, user: CurrentUser, session: SessionDep, services: ServicesDep
) -> LimitsPublic:
    """Replace a key's overrides (admins only); they beat the limits of the key's user."""
    key, owner = _key_with_owner(session, user, key_id)
    if user.role != Role.admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only admins can set limits")
    row = _stored(session, key_id=key_id)
    before = _overrides(row)
    _save(session, row, body, api_key_id=key_id)
    record_event(session, user, "limits.update", "api_key", key_id, before=before.model_dump(), after=body.model_dump())
    commit_config_change(session, services)
    return _key_public(session, services.limits, key, owner, body)


@router.get("/me/limits", response_model=MyLimits)
async def read_my_limits(user: CurrentUser, services: ServicesDep) -> MyLimits:
    """Your limits and how much of each you have used (from the proxy's own counters)."""
    await asyncio.to_thread(services.catalog.reload_if_stale)
    snapshot, limiter, user_id = services.catalog.snapshot, services.limits, user.id or 0
    account = limiter.rules_for(snapshot, user_id)
    own_keys = sorted(
        (k for k in snapshot.keys_by_digest.values() if k.user_id == user_id and k.id in snapshot.key_limits),
        key=lambda k: k.id,
    )
    key_rules = {k.id: limiter.rules_for(snapshot, user_id, k.id) for k in own_keys}
    subjects = {user_subject(user_id)} | {r.subject for rules in key_rules.values() for r in rules}
    used = await limiter.used(sorted(subjects))

    def statuses(rules: tuple[LimitRule, ...]) -> list[LimitStatus]:
        result = []
        for effective in _effective(rules):
            rule = next((r for r in rules if r.kind is effective.kind), None)
            if rule is None and effective.kind is LimitKind.requests:
                amount = None  # request rates are only counted where limited
            else:
                amount = used[rule.subject if rule else user_subject(user_id)][effective.kind]
            left = None if effective.limit is None or amount is None else max(0.0, effective.limit - amount)
            result.append(LimitStatus(**effective.model_dump(), used=amount, remaining=left))
        return result

    return MyLimits(
        token_window_hours=limiter.window_seconds / 3600,
        account=statuses(account),
        keys=[KeyLimitStatus(id=k.id, prefix=k.prefix, limits=statuses(key_rules[k.id])) for k in own_keys],
    )
