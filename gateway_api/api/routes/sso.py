"""Single sign-on through the identity provider (OpenID Connect, authorization code with PKCE).

`GET /auth/oidc/start` sends the browser to the provider; the provider sends it back to `GET /auth/oidc/callback`,
which checks the answer, brings the user in line with the claims and ends with a one-time code instead of a key:
the web UI finds it in the address's fragment (never sent to a server) and exchanges it for its session key
(`POST /auth/oidc/exchange`); the CLI gets it on its loopback address and redeems it with its PKCE verifier
(`POST /auth/oidc/token`); a device confirmation shows it as the form's confirmation. No key is ever in a URL.
"""

from __future__ import annotations

import logging
import re
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from gateway_api.accounts.audit import record_event
from gateway_api.accounts.sso.errors import SsoError
from gateway_api.accounts.sso.flows import (
    Purpose,
    derived_secret,
    issue_handoff,
    new_binding,
    redeem_handoff,
    start_sign_in,
    take_callback,
)
from gateway_api.accounts.sso.identity import check_domain, identity_from_claims
from gateway_api.accounts.sso.provisioning import record_refusal, sign_in_user
from gateway_api.accounts.sso.runtime import SsoRuntime
from gateway_api.api.crud import commit_config_change
from gateway_api.api.deps import ServicesDep, SessionDep, client_address, refuse_if_throttled
from gateway_api.api.routes.auth import LoginResponse
from gateway_api.api.signin_keys import KeyWish, issue_signin_key
from gateway_api.api.sso_pages import DEVICE_PATH, LOGIN_PATH, device_confirm_page, error_page
from gateway_api.db.models import DeviceSignIn, Scope, User
from gateway_api.services import AppServices

log = logging.getLogger("gateway.sso")

router = APIRouter(prefix="/auth", tags=["auth"])

BINDING_COOKIE = "gateway_sso_binding"
BINDING_COOKIE_PATH = "/api/auth/"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
TOKEN_TEXT = re.compile(r"^[A-Za-z0-9_-]{20,128}$")
# Where an error page sends the person to try again (the CLI's loopback flow: the terminal, so no link).
AGAIN = {Purpose.web: LOGIN_PATH, Purpose.device: DEVICE_PATH, Purpose.cli: ""}


class SignInMethods(BaseModel):
    password: bool = Field(description="email and password sign-in is open to everyone (else: break-glass admin only)")
    sso: bool = Field(description="single sign-on through the identity provider is configured")


@router.get("/methods", response_model=SignInMethods)
def read_sign_in_methods(services: ServicesDep) -> SignInMethods:
    """How one signs in here: the sign-in page and `gateway login` ask first."""
    return SignInMethods(password=services.settings.password_login, sso=services.sso is not None)


def sso_runtime(services: AppServices) -> SsoRuntime:
    if services.sso is None:
        raise SsoError("single sign-on is not configured on this gateway", 404)
    return services.sso


def safe_next_path(candidate: str) -> str:
    """Only a path on this site (never `//other.example` or a scheme), and never the sign-in page itself."""
    on_site = candidate.startswith("/") and not candidate.startswith("//") and len(candidate) <= 400
    if on_site and not any(ch in candidate for ch in "\r\n\\") and candidate.split("?")[0].rstrip("/") != LOGIN_PATH:
        return candidate
    return "/"


def loopback_redirect(url: str) -> str:
    """The CLI's own address on this machine; anything else would hand the one-time code to a stranger."""
    parts = urlsplit(url)
    if (
        parts.scheme != "http"
        or parts.hostname is None
        or parts.netloc.rsplit(":", 1)[0] not in LOOPBACK_HOSTS
        or parts.port is None
        or parts.username is not None
        or parts.query
        or parts.fragment
        or len(url) > 200
    ):
        raise SsoError("cli_redirect must be http://127.0.0.1:PORT/PATH (the CLI's loopback address)")
    return url


def binding_of(request: Request) -> str:
    value = request.cookies.get(BINDING_COOKIE, "")
    return value if TOKEN_TEXT.match(value) else ""


def redirect_to_provider(
    request: Request,
    services: AppServices,
    session: Session,
    purpose: Purpose,
    *,
    return_to: str = "",
    client_challenge: str = "",
    device: DeviceSignIn | None = None,
) -> Response:
    """Begin a sign-in: remember it, bind it to this browser and send the browser to the identity provider."""
    sso = sso_runtime(services)
    client = client_address(request)
    if sso.starts.retry_after(client) > 0:
        raise SsoError("too many sign-ins from your address; wait a minute", 429)
    sso.starts.record_failure(client)
    sso.provider.metadata()  # before writing anything: an unreachable provider fails here
    binding = binding_of(request) or new_binding()
    started = start_sign_in(
        session,
        services.key_pepper,
        binding,
        purpose,
        return_to=return_to,
        client_challenge=client_challenge,
        device_id=device.id if device else None,
    )
    url = sso.provider.authorization_url(state=started.state, nonce=started.nonce, code_verifier=started.code_verifier)
    session.commit()
    response = RedirectResponse(url, status.HTTP_302_FOUND, headers={"cache-control": "no-store"})
    response.set_cookie(
        BINDING_COOKIE,
        binding,
        max_age=3600,
        path=BINDING_COOKIE_PATH,
        httponly=True,
        samesite="lax",  # sent on the provider's top-level redirect back to us, not on cross-site sub-requests
        secure=services.settings.public_url.startswith("https://"),
    )
    return response


@router.get("/oidc/start", response_class=Response, responses={302: {"description": "to the identity provider"}})
def start_sso(
    request: Request,
    services: ServicesDep,
    session: SessionDep,
    next_path: Annotated[str, Query(alias="next", max_length=400)] = "/",
    cli_redirect: Annotated[str, Query(max_length=200, description="the CLI's loopback address")] = "",
    cli_challenge: Annotated[str, Query(max_length=64, description="S256 of the CLI's verifier")] = "",
) -> Response:
    """Sign in with the identity provider: the browser is sent there and comes back to the callback."""
    try:
        if cli_redirect or cli_challenge:
            if not CHALLENGE.match(cli_challenge):
                raise SsoError("cli_challenge must be the S256 challenge of a PKCE verifier (43 characters)")
            return redirect_to_provider(
                request,
                services,
                session,
                Purpose.cli,
                return_to=loopback_redirect(cli_redirect),
                client_challenge=cli_challenge,
            )
        return redirect_to_provider(request, services, session, Purpose.web, return_to=safe_next_path(next_path))
    except SsoError as exc:
        return error_page(exc.message, exc.status_code)
    except SQLAlchemyError:
        return database_down_page(session)


def database_down_page(session: Session, again_href: str = LOGIN_PATH) -> HTMLResponse:
    """A sign-in page, not a bare 500, when the database is away (the sign-in can simply be started again)."""
    session.rollback()
    log.warning("single sign-on failed: the database is unavailable")
    return error_page(
        "the gateway cannot reach its database right now; try again in a moment", 503, again_href=again_href
    )


@router.get("/oidc/callback", response_class=Response, responses={303: {"description": "to the sign-in page"}})
def finish_sso(
    request: Request,
    services: ServicesDep,
    session: SessionDep,
    code: Annotated[str, Query(max_length=2048)] = "",
    state: Annotated[str, Query(max_length=200)] = "",
    error: Annotated[str, Query(max_length=200)] = "",
    error_description: Annotated[str, Query(max_length=500)] = "",
) -> Response:
    """Where the identity provider sends the browser back: check everything, then hand over a one-time code."""
    client = client_address(request)
    again = LOGIN_PATH
    try:
        refuse_if_throttled(services, client, "too many failed sign-ins", "single sign-on throttled after failures")
    except HTTPException as exc:
        return error_page(str(exc.detail), exc.status_code)
    try:
        sso = sso_runtime(services)
        if not state:
            raise SsoError("the identity provider's answer has no state; start again")
        try:
            flow = take_callback(session, services.key_pepper, state, binding_of(request))
        except SsoError:
            services.login_throttle.record_failure(client)
            raise
        session.commit()  # the state is spent whatever happens next
        again = AGAIN[Purpose(flow.purpose)]
        if error:
            raise SsoError(f"the identity provider did not sign you in: {error_description or error}", 403)
        if not code:
            raise SsoError("the identity provider's answer has no code; start again")
        pepper = services.key_pepper
        claims = sso.provider.finish(
            code=code, code_verifier=derived_secret(pepper, "pkce", state), nonce=derived_secret(pepper, "nonce", state)
        )
        identity = identity_from_claims(claims, services.settings)
        try:
            check_domain(identity, services.settings)
        except SsoError:
            record_refusal(session, identity, "domain")
            session.commit()
            raise
        try:
            user = sign_in_user(session, identity, services.settings)
        except SsoError:
            session.commit()  # keeps the refusal sign_in_user audited
            raise
        handoff = issue_handoff(session, pepper, flow, user)
        record_event(
            session,
            user,
            "session.sso",
            "session",
            flow.id,
            after={"purpose": flow.purpose, "groups": list(identity.groups)},
        )
        commit_config_change(session, services)
    except SsoError as exc:
        log.info("single sign-on refused", extra={"client_address": client, "reason": exc.message})
        return error_page(exc.message, exc.status_code, again_href=again)
    except SQLAlchemyError:
        return database_down_page(session, again)
    if flow.purpose == Purpose.cli:
        return RedirectResponse(f"{flow.return_to}?code={handoff}", status.HTTP_303_SEE_OTHER)
    if flow.purpose == Purpose.device:
        device = session.get(DeviceSignIn, flow.device_id or 0)
        return device_confirm_page(user.email, device.user_code if device else "", handoff)
    return RedirectResponse(
        f"{LOGIN_PATH}?next={quote(flow.return_to, safe='')}#sso={handoff}", status.HTTP_303_SEE_OTHER
    )


class WebHandoff(BaseModel):
    code: str = Field(min_length=1, max_length=200)


class CliHandoff(KeyWish):
    code: str = Field(min_length=1, max_length=200)
    code_verifier: str = Field(min_length=43, max_length=128)


def _redeemed_user(
    request: Request, services: AppServices, session: Session, code: str, purpose: Purpose, verifier: str = ""
) -> User:
    client = client_address(request)
    refuse_if_throttled(services, client, "too many failed sign-ins", "sign-in code guessing throttled")
    try:
        flow = redeem_handoff(session, services.key_pepper, code, purpose, code_verifier=verifier)
        user = session.get(User, flow.user_id or 0)
        if user is None or not user.active:
            raise SsoError("your gateway account is deactivated", 403)
    except SsoError as exc:
        services.login_throttle.record_failure(client)
        raise HTTPException(exc.status_code, exc.message) from None
    return user


@router.post("/oidc/exchange", response_model=LoginResponse)
def exchange_sso_code(body: WebHandoff, request: Request, services: ServicesDep, session: SessionDep) -> LoginResponse:
    """The web UI's end of a sign-on: its one-time code becomes a browser session (a ``ui`` key)."""
    user = _redeemed_user(request, services, session, body.code, Purpose.web)
    wish = KeyWish(scope=Scope.ui)
    return issue_signin_key(session, services, user, wish, method="sso", default_name="browser session (SSO)")


@router.post("/oidc/token", response_model=LoginResponse)
def redeem_cli_code(body: CliHandoff, request: Request, services: ServicesDep, session: SessionDep) -> LoginResponse:
    """The CLI's end of a sign-on: its one-time code and PKCE verifier become a key."""
    user = _redeemed_user(request, services, session, body.code, Purpose.cli, body.code_verifier)
    return issue_signin_key(session, services, user, body, method="sso", default_name="gateway login (SSO)")
