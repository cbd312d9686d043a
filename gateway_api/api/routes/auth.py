"""Browser sessions: exchange email + password for a ``ui`` key, and revoke it."""

from __future__ import annotations

import logging
from datetime import datetime

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field

from gateway_api.accounts.api_keys import expiry_from_days, issue_key, revoke_key
from gateway_api.accounts.audit import record_event
from gateway_api.accounts.key_rules import NON_EXPIRING_REFUSAL, may_mint_non_expiring
from gateway_api.accounts.sessions import end_sessions
from gateway_api.accounts.sso.identity import password_sign_in_allowed
from gateway_api.accounts.users import find_user
from gateway_api.api.deps import PrincipalDep, ServicesDep, SessionDep, client_address, refuse_if_throttled
from gateway_api.core.names import OptionalName
from gateway_api.db.models import Scope
from gateway_api.security.passwords import verify_password

log = logging.getLogger("gateway.auth")

router = APIRouter(prefix="/auth", tags=["auth"])


class LoginRequest(BaseModel):
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1024)
    scope: Scope = Scope.ui
    name: OptionalName = ""
    no_expiration: bool = False


class LoginResponse(BaseModel):
    token: str
    key_id: int
    scope: Scope
    expires_at: datetime | None


@router.post("/login", response_model=LoginResponse)
def login(body: LoginRequest, request: Request, services: ServicesDep, session: SessionDep) -> LoginResponse:
    """Check the password and issue a key (``ui`` for the browser; ``llm`` or ``api`` for `gateway login`)."""
    client = client_address(request)
    refuse_if_throttled(
        services, client, "too many failed sign-in attempts", "sign-in throttled after repeated failures"
    )
    # Single sign-on (issue 18): with GATEWAY_PASSWORD_LOGIN=false only the break-glass admin may use a password.
    if not password_sign_in_allowed(services.settings, body.email):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "password sign-in is turned off here; sign in with SSO")
    # End of the single sign-on check.
    user = find_user(session, body.email)
    if user is None or not user.active or not verify_password(body.password, user.password_hash if user else None):
        services.login_throttle.record_failure(client)
        log.info("failed sign-in", extra={"client_address": client})
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong email or password")
    services.login_throttle.reset(client)
    if body.no_expiration and not may_mint_non_expiring(user, services.settings):
        raise HTTPException(status.HTTP_403_FORBIDDEN, NON_EXPIRING_REFUSAL)
    days = None if body.no_expiration else services.settings.default_key_expiry_days
    name = body.name or ("browser session" if body.scope == Scope.ui else "gateway login")
    key, secret = issue_key(
        session, services.key_pepper, user, {body.scope}, name=name, expires_at=expiry_from_days(days)
    )
    record_event(session, user, "session.create", "session", key.id, after={"name": name, "scope": body.scope.value})
    session.commit()
    return LoginResponse(token=secret, key_id=key.id or 0, scope=body.scope, expires_at=key.expires_at)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(principal: PrincipalDep, session: SessionDep) -> None:
    """Revoke the key this request was made with."""
    key = session.merge(principal.key)
    revoke_key(session, key)
    record_event(session, principal.user, "session.revoke", "session", key.id, before={"name": key.name})
    session.commit()


class SessionsEnded(BaseModel):
    ended: int = Field(description="how many other browser sessions were signed out")


@router.post("/logout-others", response_model=SessionsEnded)
def logout_other_sessions(principal: PrincipalDep, session: SessionDep) -> SessionsEnded:
    """Sign out your other browser sessions (every `ui` key of yours but this request's); other keys stay."""
    ended = end_sessions(session, principal.user, keep_key_id=principal.key.id)
    if ended:
        record_event(
            session, principal.user, "session.revoke_others", "session", principal.key.id, after={"ended": ended}
        )
    session.commit()
    return SessionsEnded(ended=ended)
