"""The violations' queries for the REST API: a newest-first page under a filter (keyset cursor on (time, id), each
filter walking its (column, created_at) index), the names of their users and keys, and counts by policy, user or
day."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_
from sqlmodel import Session, col, select

from gateway_api.db.models import ApiKey, MessagePolicyViolation, User
from gateway_api.message_policies.rules import PolicyAction, PolicyScope

V = MessagePolicyViolation


class CursorError(ValueError):
    """A cursor this listing did not make."""


class StatsBy(StrEnum):
    policy = "policy"
    user = "user"
    day = "day"


@dataclass(frozen=True)
class ViolationFilter:
    policy_id: int | None = None
    user_id: int | None = None
    api_key_id: int | None = None
    scope: PolicyScope | None = None
    action: PolicyAction | None = None
    call_id: str | None = None
    start: datetime | None = None  # inclusive
    end: datetime | None = None  # exclusive

    def conditions(self) -> list[ColumnElement[bool]]:
        exact: list[tuple[Any, Any]] = [
            (V.policy_id, self.policy_id),
            (V.user_id, self.user_id),
            (V.api_key_id, self.api_key_id),
            (V.scope, self.scope.value if self.scope else None),
            (V.action, self.action.value if self.action else None),
            (V.call_id, self.call_id),
        ]
        conditions: list[ColumnElement[bool]] = [col(c) == v for c, v in exact if v is not None]
        if self.start is not None:
            conditions.append(col(V.created_at) >= self.start)
        if self.end is not None:
            conditions.append(col(V.created_at) < self.end)
        return conditions


def encode_cursor(row: MessagePolicyViolation) -> str:
    raw = f"{row.created_at.astimezone(UTC).isoformat()}|{row.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, _, ident = raw.partition("|")
        moment = datetime.fromisoformat(when)
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)), int(ident)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CursorError("not a cursor of this listing") from exc


def page(
    session: Session, where: ViolationFilter, limit: int, cursor: str | None
) -> tuple[list[MessagePolicyViolation], str | None]:
    conditions = where.conditions()
    if cursor:
        moment, ident = decode_cursor(cursor)
        created = col(V.created_at)
        conditions.append(or_(created < moment, and_(created == moment, col(V.id) < ident)))
    statement = select(V).where(*conditions).order_by(col(V.created_at).desc(), col(V.id).desc()).limit(limit + 1)
    rows = list(session.exec(statement))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1]) if more and rows else None


@dataclass(frozen=True)
class Names:
    users: dict[int, str]
    keys: dict[int, str]


def names_of(session: Session, rows: list[MessagePolicyViolation]) -> Names:
    user_ids = {r.user_id for r in rows if r.user_id is not None}
    key_ids = {r.api_key_id for r in rows if r.api_key_id is not None}
    users = dict(session.exec(select(User.id, User.email).where(col(User.id).in_(user_ids))).all()) if user_ids else {}
    keys = (
        dict(session.exec(select(ApiKey.id, ApiKey.name).where(col(ApiKey.id).in_(key_ids))).all()) if key_ids else {}
    )
    return Names(users={k: v for k, v in users.items() if k is not None}, keys={k: v for k, v in keys.items() if k})


@dataclass(frozen=True)
class StatsRow:
    key: str
    label: str
    count: int


def stats(session: Session, by: StatsBy, start: datetime | None, end: datetime | None) -> list[StatsRow]:
    """Counts in the range, largest first (by day: oldest day first)."""
    conditions = ViolationFilter(start=start, end=end).conditions()
    count = func.count().label("n")
    if by == StatsBy.policy:
        # The newest name under each id: a renamed policy is one row, shown as it is called now.
        policy_rows = session.exec(
            select(col(V.policy_id), func.max(col(V.policy_name)), count).where(*conditions).group_by(col(V.policy_id))
        )
        rows = [StatsRow(str(pid), name, n) for pid, name, n in policy_rows]
    elif by == StatsBy.user:
        user_rows = list(session.exec(select(col(V.user_id), count).where(*conditions).group_by(col(V.user_id))))
        ids = {uid for uid, _ in user_rows if uid is not None}
        emails = dict(session.exec(select(User.id, User.email).where(col(User.id).in_(ids))).all()) if ids else {}
        rows = [
            StatsRow(str(uid) if uid is not None else "", emails.get(uid, f"user {uid}") if uid else "no user", n)
            for uid, n in user_rows
        ]
    else:
        day = _day(session)
        day_rows = session.exec(select(day, count).where(*conditions).group_by(day).order_by(day))
        return [StatsRow(str(d), str(d), n) for d, n in day_rows]
    return sorted(rows, key=lambda r: (-r.count, r.label))


def _day(session: Session) -> ColumnElement[str]:
    """The UTC day of a violation as YYYY-MM-DD, in each database's own words."""
    created = col(V.created_at)
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", created), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", created)
