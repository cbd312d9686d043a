"""Browser sessions (the `ui` keys signing in issues) and when a key was last used on the REST API."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from gateway_api.accounts.api_keys import revoke_key
from gateway_api.db.models import ApiKey, Scope, User, utcnow

# A key's last use is written at most this often: a busy page does not write on every call, and "last used" is
# still right to the minute.
TOUCH_INTERVAL = timedelta(seconds=60)


def is_session(key: ApiKey) -> bool:
    return Scope.ui in key.scope_set


def idle_too_long(key: ApiKey, now: datetime, idle_timeout: timedelta) -> bool:
    """A browser session unused for longer than GATEWAY_SESSION_IDLE_TIMEOUT_MINUTES has ended (other keys are
    not sessions: they live until they expire or are revoked). Uses are recorded to the minute (`touch`)."""
    return is_session(key) and now - (key.last_used_at or key.created_at) > idle_timeout


def touch(session: Session, key: ApiKey, now: datetime) -> None:
    """Record that `key` was used now (unless that was recorded less than TOUCH_INTERVAL ago), committed."""
    if key.last_used_at is not None and now - key.last_used_at < TOUCH_INTERVAL:
        return
    key.last_used_at = now
    session.add(key)
    session.commit()


def end_sessions(session: Session, user: User, *, keep_key_id: int | None = None) -> int:
    """Revoke every live session of `user` except `keep_key_id` (the one asking); returns how many ended."""
    now = utcnow()
    live = session.exec(
        select(ApiKey).where(
            ApiKey.user_id == user.id,
            col(ApiKey.revoked_at).is_(None),
            col(ApiKey.expires_at).is_(None) | (col(ApiKey.expires_at) > now),
        )
    ).all()
    ended = 0
    for key in live:
        if is_session(key) and key.id != keep_key_id:
            revoke_key(session, key)
            ended += 1
    return ended
