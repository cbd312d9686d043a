"""The key at the end of a sign-in that is not a password (single sign-on in the browser or the CLI, device codes)."""

from __future__ import annotations

from fastapi import HTTPException, status
from pydantic import BaseModel
from sqlmodel import Session

from gateway_api.accounts.api_keys import expiry_from_days, issue_key
from gateway_api.accounts.audit import record_event
from gateway_api.accounts.key_rules import may_mint_non_expiring
from gateway_api.api.routes.auth import LoginResponse
from gateway_api.core.names import OptionalName
from gateway_api.db.models import Scope, User
from gateway_api.services import AppServices


class KeyWish(BaseModel):
    """What the signing-in program asks for."""

    scope: Scope = Scope.llm
    name: OptionalName = ""
    no_expiration: bool = False


def issue_signin_key(
    session: Session, services: AppServices, user: User, wish: KeyWish, *, method: str, default_name: str
) -> LoginResponse:
    if wish.no_expiration and not may_mint_non_expiring(user, services.settings):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "only administrators may create keys that never expire; sign in without --no-expiration",
        )
    days = None if wish.no_expiration else services.settings.default_key_expiry_days
    name = wish.name or default_name
    key, secret = issue_key(
        session, services.key_pepper, user, {wish.scope}, name=name, expires_at=expiry_from_days(days)
    )
    record_event(
        session,
        user,
        "session.create",
        "session",
        key.id,
        after={"name": name, "scope": wish.scope.value, "method": method},
    )
    session.commit()
    return LoginResponse(token=secret, key_id=key.id or 0, scope=wish.scope, expires_at=key.expires_at)
