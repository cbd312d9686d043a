"""Issuing, finding and revoking gateway API keys (shared by the REST API and the CLI)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from gateway_api.db.config_version import bump_config_version
from gateway_api.db.models import ApiKey, Scope, User, saved_id, utcnow
from gateway_api.security.keys import digest_key, new_api_key


def issue_key(
    session: Session,
    pepper: bytes,
    user: User,
    scopes: set[Scope],
    *,
    name: str = "",
    expires_at: datetime | None,
) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the secret, which exists nowhere else afterwards."""
    new = new_api_key(pepper)
    key = ApiKey(
        user_id=saved_id(user),
        name=name,
        prefix=new.prefix,
        digest=new.digest,
        scopes=",".join(sorted(scopes)),
        expires_at=expires_at,
    )
    session.add(key)
    session.flush()
    bump_config_version(session)
    return key, new.secret


def expiry_from_days(days: float | None) -> datetime | None:
    return None if days is None else utcnow() + timedelta(days=days)


def find_valid_key(session: Session, pepper: bytes, secret: str) -> tuple[ApiKey, User] | None:
    """The key and its owner if the secret names a live key of an active user."""
    row = session.exec(
        select(ApiKey, User)
        .join(User, col(User.id) == col(ApiKey.user_id))
        .where(ApiKey.digest == digest_key(secret, pepper))
    ).first()
    if row is None:
        return None
    key, user = row
    if key.revoked_at is not None or not user.active:
        return None
    if key.expires_at is not None and key.expires_at <= utcnow():
        return None
    return key, user


def was_issued(session: Session, pepper: bytes, secret: str) -> bool:
    """Whether the secret names a key the gateway issued (live or not): a revoked or expired one is no guess."""
    return session.exec(select(ApiKey.id).where(ApiKey.digest == digest_key(secret, pepper))).first() is not None


def revoke_key(session: Session, key: ApiKey) -> None:
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.add(key)
        bump_config_version(session)
