"""A key's last use is written when it is stale by a minute or more, never more often."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from gateway_api.accounts.api_keys import issue_key
from gateway_api.accounts.sessions import TOUCH_INTERVAL, end_sessions, touch
from gateway_api.accounts.users import create_user
from gateway_api.db.models import ApiKey, Scope

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_touch_writes_at_most_once_per_interval(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as session:
        user = create_user(session, "dev@example.com", None)
        key, _ = issue_key(session, b"pepper", user, {Scope.ui}, expires_at=None)
        session.commit()
        touch(session, key, T0)
        touch(session, key, T0 + TOUCH_INTERVAL - timedelta(seconds=1))
        assert session.get(ApiKey, key.id).last_used_at == T0
        touch(session, key, T0 + TOUCH_INTERVAL)
    with Session(engine) as fresh:
        stored = fresh.get(ApiKey, key.id)
        assert stored is not None and stored.last_used_at == T0 + TOUCH_INTERVAL


def test_ending_sessions_leaves_other_users_and_other_keys(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as session:
        dev = create_user(session, "dev@example.com", None)
        ops = create_user(session, "ops@example.com", None)
        mine, _ = issue_key(session, b"pepper", dev, {Scope.ui}, expires_at=None)
        other_session, _ = issue_key(session, b"pepper", dev, {Scope.ui}, expires_at=None)
        llm, _ = issue_key(session, b"pepper", dev, {Scope.llm}, expires_at=None)
        theirs, _ = issue_key(session, b"pepper", ops, {Scope.ui}, expires_at=None)
        assert end_sessions(session, dev, keep_key_id=mine.id) == 1
        session.commit()
        revoked = {key.id: key.revoked_at is not None for key in (mine, other_session, llm, theirs)}
    assert revoked == {mine.id: False, other_session.id: True, llm.id: False, theirs.id: False}
