"""`gateway login --no-browser`: the CLI waits on a short code that its user confirms in any browser (RFC 8628's
device authorization grant, with the gateway's single sign-on as the way the browser proves who it is).

The CLI asks for a code (`POST /auth/device/code`) and polls `POST /auth/device/token`; the person opens
`/api/auth/device`, types the code, signs in with the identity provider and approves on a page that names the
account the CLI will get a key for.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request, Response, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError

from gateway_api.accounts.audit import record_event
from gateway_api.accounts.sso.errors import SsoError
from gateway_api.accounts.sso.flows import (
    DEVICE_POLL_SECONDS,
    DEVICE_SECONDS,
    DeviceWait,
    Purpose,
    decide_device,
    pending_device,
    poll_device,
    redeem_handoff,
    start_device,
)
from gateway_api.api.deps import ServicesDep, SessionDep, client_address, refuse_if_throttled
from gateway_api.api.routes.auth import LoginResponse
from gateway_api.api.routes.sso import binding_of, database_down_page, redirect_to_provider, sso_runtime
from gateway_api.api.signin_keys import KeyWish, issue_signin_key
from gateway_api.api.sso_pages import DEVICE_PATH, device_done_page, device_entry_page, error_page
from gateway_api.db.models import DeviceSignIn, User, utcnow

router = APIRouter(prefix="/auth/device", tags=["auth"])


class DeviceCode(BaseModel):
    device_code: str = Field(description="the CLI's secret: poll /api/auth/device/token with it")
    user_code: str = Field(description="what the person types in the browser")
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int


class DevicePoll(KeyWish):
    device_code: str = Field(min_length=1, max_length=200)


@router.post("/code", response_model=DeviceCode)
def start_device_sign_in(request: Request, services: ServicesDep, session: SessionDep) -> DeviceCode:
    """A code for a CLI that cannot open a browser; its user confirms it at ``verification_uri``."""
    try:
        sso = sso_runtime(services)
        client = client_address(request)
        if sso.starts.retry_after(client) > 0:
            raise SsoError("too many sign-ins from your address; wait a minute", 429)
        sso.starts.record_failure(client)
        started = start_device(session, services.key_pepper)
    except SsoError as exc:
        raise HTTPException(exc.status_code, exc.message) from None
    session.commit()
    uri = f"{services.settings.public_url}{DEVICE_PATH}"
    return DeviceCode(
        device_code=started.device_code,
        user_code=started.user_code,
        verification_uri=uri,
        verification_uri_complete=f"{uri}?user_code={started.user_code}",
        expires_in=DEVICE_SECONDS,
        interval=DEVICE_POLL_SECONDS,
    )


@router.get("", response_class=HTMLResponse)
def show_device_page(user_code: Annotated[str, Query(max_length=16)] = "") -> HTMLResponse:
    """The page where a person types the code their CLI shows."""
    return device_entry_page(user_code)


@router.post("", response_class=Response, responses={302: {"description": "to the identity provider"}})
def submit_device_code(
    request: Request, services: ServicesDep, session: SessionDep, user_code: Annotated[str, Form(max_length=32)]
) -> Response:
    """Check the typed code, then sign the person in with the identity provider."""
    client = client_address(request)
    try:
        refuse_if_throttled(services, client, "too many wrong codes", "device code guessing throttled")
    except HTTPException as exc:
        return device_entry_page(user_code, str(exc.detail), exc.status_code)
    try:
        device = pending_device(session, user_code)
    except SQLAlchemyError:
        return database_down_page(session, DEVICE_PATH)
    if device is None:
        services.login_throttle.record_failure(client)
        return device_entry_page(
            user_code, "This code is unknown or has expired: check it, or run gateway login again.", 400
        )
    try:
        return redirect_to_provider(request, services, session, Purpose.device, device=device)
    except SsoError as exc:
        return error_page(exc.message, exc.status_code, again_href=DEVICE_PATH)
    except SQLAlchemyError:
        return database_down_page(session, DEVICE_PATH)


@router.post("/confirm", response_class=HTMLResponse)
def confirm_device(
    request: Request,
    services: ServicesDep,
    session: SessionDep,
    confirmation: Annotated[str, Form(max_length=200)],
    decision: Annotated[str, Form(pattern="^(approve|deny)$")],
) -> HTMLResponse:
    """The signed-in person approves (or denies) the waiting CLI."""
    try:
        flow = redeem_handoff(session, services.key_pepper, confirmation, Purpose.device, binding=binding_of(request))
        device = session.get(DeviceSignIn, flow.device_id or 0)
        user = session.get(User, flow.user_id or 0)
        if device is None or user is None or device.expires_at <= utcnow() or device.approved_at or device.denied_at:
            raise SsoError("this CLI sign-in has expired or was already decided; run gateway login again")
    except SsoError as exc:
        return error_page(exc.message, exc.status_code, again_href=DEVICE_PATH)
    except SQLAlchemyError:
        return database_down_page(session, DEVICE_PATH)
    approve = decision == "approve"
    decide_device(session, device, user, approve=approve)
    action = "session.device_approve" if approve else "session.device_deny"
    record_event(session, user, action, "session", device.id, after={"user_code": device.user_code})
    try:
        session.commit()
    except SQLAlchemyError:
        return database_down_page(session, DEVICE_PATH)
    return device_done_page(approve)


@router.post("/token", response_model=LoginResponse, responses={400: {"description": "wait, slow down, or stop"}})
def poll_device_token(body: DevicePoll, request: Request, services: ServicesDep, session: SessionDep) -> LoginResponse:
    """The waiting CLI's key once its code is approved (exactly once); until then 400 with RFC 8628's reason."""
    client = client_address(request)
    refuse_if_throttled(services, client, "too many unknown device codes", "device code guessing throttled")
    result = poll_device(session, services.key_pepper, body.device_code)
    if isinstance(result, DeviceWait):
        if result == DeviceWait.expired:
            services.login_throttle.record_failure(client)  # unknown, used or expired: guessing costs
        session.commit()
        raise HTTPException(status.HTTP_400_BAD_REQUEST, result.value)
    user = session.get(User, result.user_id or 0)
    if user is None or not user.active:
        session.commit()
        raise HTTPException(status.HTTP_403_FORBIDDEN, "your gateway account is deactivated")
    return issue_signin_key(session, services, user, body, method="device", default_name="gateway login (device)")
