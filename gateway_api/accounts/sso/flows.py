"""Sign-ins in progress, kept in the database so any replica can finish what another began.

A trip through the identity provider (`SsoSignIn`) starts with a random OAuth state and a browser binding (a
cookie), is taken exactly once by the callback, and ends with a one-time code that is redeemed exactly once: by the
UI for a browser session, by the CLI (with its PKCE verifier) for a key, or by the device confirmation page. A CLI
without a browser waits on a `DeviceSignIn` that a person confirms with a short code. Only HMAC digests of the
state, binding and codes are stored; the PKCE verifier and the nonce are derived from the state with the key pepper.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import CursorResult, func, update
from sqlmodel import Session, col, delete, select

from gateway_api.accounts.sso.errors import SsoError
from gateway_api.db.models import DeviceSignIn, SsoSignIn, User, saved_id, utcnow

SIGN_IN_SECONDS = 600  # from the redirect to the provider to its callback
HANDOFF_SECONDS = 120  # from the callback to the one-time code's redemption
DEVICE_SECONDS = 600  # for a person to confirm a CLI's code
DEVICE_POLL_SECONDS = 2  # how often a waiting CLI may ask
# Every sign-in in progress is a row an unauthenticated caller made: past this many, new ones wait.
MAX_PENDING = 10_000
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # no vowels (no words), no look-alike digits
USER_CODE_LENGTH = 8


class Purpose(StrEnum):
    web = "web"
    cli = "cli"
    device = "device"


@dataclass(frozen=True)
class StartedSignIn:
    state: str
    nonce: str
    code_verifier: str


def _digest(pepper: bytes, label: str, value: str) -> str:
    return hmac.new(pepper, f"sso-{label}\x00{value}".encode(), hashlib.sha256).hexdigest()


def derived_secret(pepper: bytes, label: str, state: str) -> str:
    """The PKCE verifier or nonce of a sign-in: 43 URL-safe characters only this gateway can compute from the state."""
    raw = hmac.new(pepper, f"sso-derive-{label}\x00{state}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def new_binding() -> str:
    return secrets.token_urlsafe(32)


def _purge_and_check_room(session: Session) -> None:
    now = utcnow()
    session.exec(delete(SsoSignIn).where(col(SsoSignIn.expires_at) < now - timedelta(seconds=HANDOFF_SECONDS)))
    session.exec(delete(DeviceSignIn).where(col(DeviceSignIn.expires_at) < now))
    pending = session.exec(select(func.count()).select_from(SsoSignIn)).one()
    pending += session.exec(select(func.count()).select_from(DeviceSignIn)).one()
    if pending >= MAX_PENDING:
        raise SsoError("too many sign-ins are in progress; try again in a few minutes", 503)


def start_sign_in(
    session: Session,
    pepper: bytes,
    binding: str,
    purpose: Purpose,
    *,
    return_to: str = "",
    client_challenge: str = "",
    device_id: int | None = None,
) -> StartedSignIn:
    _purge_and_check_room(session)
    state = secrets.token_urlsafe(32)
    session.add(
        SsoSignIn(
            state_digest=_digest(pepper, "state", state),
            binding_digest=_digest(pepper, "binding", binding),
            purpose=purpose.value,
            return_to=return_to,
            client_challenge=client_challenge,
            device_id=device_id,
            expires_at=utcnow() + timedelta(seconds=SIGN_IN_SECONDS),
        )
    )
    return StartedSignIn(
        state=state, nonce=derived_secret(pepper, "nonce", state), code_verifier=derived_secret(pepper, "pkce", state)
    )


def _claim_once(session: Session, row_id: int, column: str) -> bool:
    """Set a used-at column that is still empty; False when a concurrent or earlier request already did."""
    target = getattr(SsoSignIn, column)
    result = session.exec(
        update(SsoSignIn).where(col(SsoSignIn.id) == row_id, col(target).is_(None)).values({column: utcnow()})
    )
    return isinstance(result, CursorResult) and result.rowcount == 1


def take_callback(session: Session, pepper: bytes, state: str, binding: str) -> SsoSignIn:
    """The sign-in this callback finishes, taken exactly once, from the browser that began it."""
    row = session.exec(select(SsoSignIn).where(SsoSignIn.state_digest == _digest(pepper, "state", state))).first()
    if row is None:
        raise SsoError("this sign-in is unknown or was already finished; start again")
    if not hmac.compare_digest(row.binding_digest, _digest(pepper, "binding", binding)):
        raise SsoError("this sign-in was started in another browser; start again in this one")
    if row.callback_at is not None or not _claim_once(session, saved_id(row), "callback_at"):
        raise SsoError("this sign-in was already used; start again")
    if row.expires_at <= utcnow():
        raise SsoError("this sign-in took too long; start again")
    return row


def issue_handoff(session: Session, pepper: bytes, row: SsoSignIn, user: User) -> str:
    code = secrets.token_urlsafe(32)
    row.user_id = saved_id(user)
    row.handoff_digest = _digest(pepper, "handoff", code)
    row.handoff_expires_at = utcnow() + timedelta(seconds=HANDOFF_SECONDS)
    session.add(row)
    return code


def redeem_handoff(
    session: Session, pepper: bytes, code: str, purpose: Purpose, *, code_verifier: str = "", binding: str = ""
) -> SsoSignIn:
    """The finished sign-in a one-time code stands for, redeemed exactly once."""
    row = session.exec(select(SsoSignIn).where(SsoSignIn.handoff_digest == _digest(pepper, "handoff", code))).first()
    if row is None or row.purpose != purpose.value or row.user_id is None:
        raise SsoError("this sign-in code is unknown or was already used; sign in again", 401)
    if purpose == Purpose.cli and not hmac.compare_digest(row.client_challenge, s256(code_verifier)):
        raise SsoError("this sign-in code was issued to another program; sign in again", 401)
    if binding and not hmac.compare_digest(row.binding_digest, _digest(pepper, "binding", binding)):
        raise SsoError("this confirmation belongs to another browser; start again", 401)
    if row.handoff_used_at is not None or not _claim_once(session, saved_id(row), "handoff_used_at"):
        raise SsoError("this sign-in code was already used; sign in again", 401)
    if row.handoff_expires_at is None or row.handoff_expires_at <= utcnow():
        raise SsoError("this sign-in code has expired; sign in again", 401)
    return row


def normalise_user_code(text: str) -> str:
    letters = "".join(ch for ch in text.upper() if ch.isalnum())
    return f"{letters[:4]}-{letters[4:]}" if len(letters) == USER_CODE_LENGTH else ""


@dataclass(frozen=True)
class StartedDevice:
    device_code: str
    user_code: str
    expires_at: datetime


def start_device(session: Session, pepper: bytes) -> StartedDevice:
    _purge_and_check_room(session)
    device_code = secrets.token_urlsafe(32)
    while True:
        letters = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))
        user_code = normalise_user_code(letters)
        if session.exec(select(DeviceSignIn.id).where(DeviceSignIn.user_code == user_code)).first() is None:
            break
    expires_at = utcnow() + timedelta(seconds=DEVICE_SECONDS)
    session.add(
        DeviceSignIn(
            device_code_digest=_digest(pepper, "device", device_code), user_code=user_code, expires_at=expires_at
        )
    )
    return StartedDevice(device_code=device_code, user_code=user_code, expires_at=expires_at)


def pending_device(session: Session, user_code: str) -> DeviceSignIn | None:
    """The CLI waiting for this code, if it still waits."""
    code = normalise_user_code(user_code)
    row = session.exec(select(DeviceSignIn).where(DeviceSignIn.user_code == code)).first() if code else None
    if row is None or row.expires_at <= utcnow() or row.approved_at or row.denied_at:
        return None
    return row


def decide_device(session: Session, device: DeviceSignIn, user: User, *, approve: bool) -> None:
    device.user_id = saved_id(user)
    if approve:
        device.approved_at = utcnow()
    else:
        device.denied_at = utcnow()
    session.add(device)


class DeviceWait(StrEnum):
    """RFC 8628's answers to a CLI that asks too early, too often, or in vain."""

    pending = "authorization_pending"
    slow_down = "slow_down"
    denied = "access_denied"
    expired = "expired_token"


def poll_device(session: Session, pepper: bytes, device_code: str) -> DeviceSignIn | DeviceWait:
    """The approved sign-in (redeemed exactly once), or why the CLI must wait or stop."""
    digest = _digest(pepper, "device", device_code)
    row = session.exec(select(DeviceSignIn).where(DeviceSignIn.device_code_digest == digest)).first()
    now = utcnow()
    if row is None or row.expires_at <= now or row.redeemed_at is not None:
        return DeviceWait.expired
    if row.denied_at is not None:
        return DeviceWait.denied
    too_soon = row.last_polled_at is not None and now - row.last_polled_at < timedelta(seconds=DEVICE_POLL_SECONDS / 2)
    row.last_polled_at = now
    session.add(row)
    if too_soon:
        return DeviceWait.slow_down
    if row.approved_at is None:
        return DeviceWait.pending
    result = session.exec(
        update(DeviceSignIn)
        .where(col(DeviceSignIn.id) == row.id, col(DeviceSignIn.redeemed_at).is_(None))
        .values(redeemed_at=now)
    )
    if not (isinstance(result, CursorResult) and result.rowcount == 1):
        return DeviceWait.expired
    return row
