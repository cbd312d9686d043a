"""FastAPI dependencies: services, DB session, the authenticated user."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, cast

from fastapi import Depends, HTTPException, Request, status
from sqlmodel import Session

from gateway_api.accounts.api_keys import find_valid_key, revoke_key, was_issued
from gateway_api.accounts.key_rules import REST_API_REFUSAL, opens_rest_api
from gateway_api.accounts.roles import AUDITOR_REFUSAL, READ_METHODS, can_change_everything, can_read_everything
from gateway_api.accounts.sessions import idle_too_long, touch
from gateway_api.core.settings import Settings
from gateway_api.db.models import ApiKey, User, utcnow
from gateway_api.security.forwarding import (
    BROWSER_ADDRESS_HEADER,
    BROWSER_SEAL_HEADER,
    BrowserAddressSeal,
    ClientAddresses,
)
from gateway_api.services import AppServices

log = logging.getLogger("gateway.api")


def get_services(request: Request) -> AppServices:
    return cast(AppServices, request.app.state.services)


ServicesDep = Annotated[AppServices, Depends(get_services)]


def get_settings_dep(services: ServicesDep) -> Settings:
    return services.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def get_session(services: ServicesDep) -> Iterator[Session]:
    with Session(services.engine, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def client_address(request: Request) -> str:
    """The caller's address for throttling (security/forwarding.py): the browser's when the UI server vouches for
    it with a valid seal, else the peer, or what GATEWAY_TRUSTED_PROXIES say in X-Forwarded-For."""
    services = get_services(request)
    if BROWSER_ADDRESS_HEADER in request.headers:
        sealed = BrowserAddressSeal(services.key_pepper).opened(
            request.headers.get(BROWSER_ADDRESS_HEADER), request.headers.get(BROWSER_SEAL_HEADER), time.time()
        )
        if sealed is not None:
            return sealed
    peer = request.client.host if request.client else "unknown"
    trusted = ClientAddresses(services.settings.trusted_proxy_networks)
    return trusted.resolve(peer, request.headers.getlist("x-forwarded-for"))


def bearer_token(request: Request) -> str | None:
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("x-api-key") or None


def refuse_if_throttled(services: AppServices, client: str, message: str, log_message: str) -> None:
    """429 with Retry-After while ``client`` is locked out by repeated failures."""
    wait = services.login_throttle.retry_after(client)
    if wait > 0:
        log.warning(log_message, extra={"client_address": client})
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"{message}; try again later",
            headers={"Retry-After": str(int(wait) + 1)},
        )


def presented_key(request: Request, services: AppServices, session: Session, client: str) -> tuple[ApiKey, User]:
    """The live key the request carries and its owner; 401 otherwise. A browser session idle for longer than
    GATEWAY_SESSION_IDLE_TIMEOUT_MINUTES is ended here (revoked). Only unknown secrets feed the guessing throttle."""
    token = bearer_token(request)
    found = find_valid_key(session, services.key_pepper, token) if token else None
    if found is None:
        # Only guesses feed the throttle: a browser's expired session, presented by the UI server for it, must not
        # lock the UI server's address out for everyone.
        if token and not was_issued(session, services.key_pepper, token):
            services.login_throttle.record_failure(client)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "missing, invalid or expired token", headers={"WWW-Authenticate": "Bearer"}
        )
    key, user = found
    idle_timeout = timedelta(minutes=services.settings.session_idle_timeout_minutes)
    if idle_too_long(key, utcnow(), idle_timeout):
        revoke_key(session, key)
        session.commit()
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "this session ended after a time without use; sign in again",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return key, user


@dataclass(frozen=True)
class Principal:
    user: User
    key: ApiKey


def get_principal(request: Request, services: ServicesDep, session: SessionDep) -> Principal:
    """A ``ui`` (browser session) or ``api`` (automation) key of an active user; an ``llm`` key is refused, also
    an admin's (it sits in tool configs)."""
    client = client_address(request)
    refuse_if_throttled(services, client, "too many failed attempts", "API token guessing throttled")
    key, user = presented_key(request, services, session, client)
    if not opens_rest_api(key):
        raise HTTPException(status.HTTP_403_FORBIDDEN, REST_API_REFUSAL)
    # The proxy records its keys' use; REST calls record theirs here (the API Keys page shows a session's last use).
    touch(session, key, utcnow())
    return Principal(user=user, key=key)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def get_current_user(principal: PrincipalDep) -> User:
    return principal.user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_admin(request: Request, user: CurrentUser) -> User:
    """Admins; auditors too when the request only reads (every admin GET is theirs, every write refused)."""
    if can_change_everything(user):
        return user
    if can_read_everything(user):
        if request.method in READ_METHODS:
            return user
        raise HTTPException(status.HTTP_403_FORBIDDEN, AUDITOR_REFUSAL)
    raise HTTPException(status.HTTP_403_FORBIDDEN, "administrators only")


AdminUser = Annotated[User, Depends(require_admin)]
