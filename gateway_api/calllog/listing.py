"""The call log's queries: one page of calls newest first under a filter, continued by a keyset cursor, and the
same walk in batches for the export (bounded memory whatever the number of rows).

Every filter but the provider and the free text has an index ``(column, created_at)`` (models.UsageRecord; partial
for status, outcome, session and unknown key prefix), so the newest page under one filter reads about a page of
index entries; the cursor is the last row's ``(created_at, id)``, never an offset.

A provider's calls are walked model by model instead (its models are few, and the per-model rollup names them):
an index on the provider would cost the usage writer a B-tree insert on every call (migration 0014, bench/README.md,
issue 16) to serve a filter the model index already serves.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, false, or_, text, tuple_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from gateway_api.db.models import (
    PARTIAL_LISTING_INDEXES,
    ApiKey,
    Model,
    Outcome,
    UsageModelDaily,
    UsageRecord,
    User,
)
from gateway_api.security.keys import KEY_PREFIX, visible_prefix

# Free text matching more names than this is narrowed to the first ones (a search for "a" is not a useful one).
MAX_MATCHES = 500
PREFIX_LENGTH = len(visible_prefix(KEY_PREFIX + "x" * 64))
# A provider with more models than this (clients' refused calls name any model they like) is listed by walking
# the time index with the provider as a condition.
MAX_PROVIDER_MODELS = 64
_PARTIAL_INDEX_OF = {index.column: index for index in PARTIAL_LISTING_INDEXES}
_NEWEST_FIRST = (col(UsageRecord.created_at).desc(), col(UsageRecord.id).desc())


class CursorError(ValueError):
    """A cursor this module did not make."""


@dataclass(frozen=True)
class CallFilter:
    user_id: int | None = None
    api_key_id: int | None = None
    provider: str | None = None
    model: str | None = None
    status: int | None = None
    outcome: Outcome | None = None
    client: str | None = None  # the user agent, exactly
    session_id: str | None = None
    start: datetime | None = None  # inclusive
    end: datetime | None = None  # exclusive
    text: str | None = None  # free text: part of the model, the user's email or name, the key's name or prefix
    call_id: str | None = None  # the gateway's id of one call (x-gateway-request-id; what violations link to)

    def conditions(self, session: Session) -> list[ColumnElement[bool]]:
        """The SQL conditions; the free text is first resolved against the small tables (`session`)."""
        record = UsageRecord
        conditions: list[ColumnElement[bool]] = []
        exact: list[tuple[Any, Any]] = [
            (record.user_id, self.user_id),
            (record.api_key_id, self.api_key_id),
            (record.provider, self.provider),
            (record.model, self.model),
            (record.status_code, self.status),
            (record.outcome, self.outcome),
            (record.client, self.client),
            (record.session_id, self.session_id),
            (record.call_id, self.call_id),
        ]
        conditions.extend(col(column) == value for column, value in exact if value is not None)
        conditions.extend(
            partial_index_conditions(
                {"status_code": self.status, "outcome": self.outcome, "session_id": self.session_id}
            )
        )
        if self.start is not None:
            conditions.append(col(record.created_at) >= self.start)
        if self.end is not None:
            conditions.append(col(record.created_at) < self.end)
        if self.text:
            conditions.append(_matches_text(session, self.text))
        return conditions


def partial_index_conditions(filters: dict[str, Any]) -> list[ColumnElement[bool]]:
    """The condition of the partial listing index on a filtered column (models.PARTIAL_LISTING_INDEXES) when the
    filter's value is one the index holds: implied by the filter, but SQLite uses a partial index only when the
    query repeats its condition. A filter for a value the index leaves out (status 200, outcome ok) walks the time
    index, where nearly every row matches."""
    conditions: list[ColumnElement[bool]] = []
    for column, value in filters.items():
        index = _PARTIAL_INDEX_OF[column]
        if value is not None and value != index.left_out:
            conditions.append(and_(text(index.condition)))
    return conditions


def _matches_text(session: Session, text: str) -> ColumnElement[bool]:
    """The free text as indexed equalities: the models, users and keys whose names contain it (looked up in the
    model, user and key tables and the per-model rollup, all small), or an unknown key's visible prefix. A
    substring match over the records themselves would read every row when nothing matches."""
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"

    def like(column: Any) -> ColumnElement[bool]:
        return col(column).ilike(pattern, escape="\\")

    models = set(session.exec(select(Model.name).where(like(Model.name)).limit(MAX_MATCHES)))
    models |= set(
        session.exec(select(UsageModelDaily.model).where(like(UsageModelDaily.model)).distinct().limit(MAX_MATCHES))
    )
    users = list(session.exec(select(User.id).where(or_(like(User.email), like(User.name))).limit(MAX_MATCHES)))
    keys = list(session.exec(select(ApiKey.id).where(or_(like(ApiKey.name), like(ApiKey.prefix))).limit(MAX_MATCHES)))
    matches: list[ColumnElement[bool]] = []
    if models:
        matches.append(col(UsageRecord.model).in_(sorted(models)))
    if users:
        matches.append(col(UsageRecord.user_id).in_(users))
    if keys:
        matches.append(col(UsageRecord.api_key_id).in_(keys))
    if text.startswith(KEY_PREFIX) and len(text) >= PREFIX_LENGTH:
        matches.append(col(UsageRecord.key_prefix) == text[:PREFIX_LENGTH])
    return or_(*matches) if matches else false()


def encode_cursor(row: UsageRecord) -> str:
    raw = f"{row.created_at.astimezone(UTC).isoformat()}|{row.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, row_id = raw.split("|")
        created_at = datetime.fromisoformat(moment)
        if created_at.tzinfo is None:
            raise ValueError("a cursor's time has its offset")
        return created_at.astimezone(UTC), int(row_id)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise CursorError("not a cursor of this listing") from exc


def page(
    session: Session, call_filter: CallFilter, limit: int, after: tuple[datetime, int] | None = None
) -> tuple[list[UsageRecord], str | None]:
    """Up to `limit` calls newest first, after the cursor's row; and the cursor of the next page (None at the end)."""
    conditions = call_filter.conditions(session)
    if after is not None:
        conditions.append(tuple_(col(UsageRecord.created_at), col(UsageRecord.id)) < tuple_(*after))
    models = _models_of_provider(session, call_filter.provider) if call_filter.model is None else None
    if models is None:
        rows = _newest(session, conditions, limit + 1)
    else:
        rows = _newest_across_models(session, conditions, models, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1]) if more and rows else None


def _newest(session: Session, conditions: list[ColumnElement[bool]], count: int) -> list[UsageRecord]:
    statement = select(UsageRecord).where(*conditions).order_by(*_NEWEST_FIRST).limit(count)
    return list(session.exec(statement))


def _models_of_provider(session: Session, provider: str | None) -> list[str] | None:
    """The models a provider's calls name, from the per-model rollup (the usage writer fills it with every record,
    refused calls included); None without a provider filter or when it has too many to walk one by one."""
    if provider is None:
        return None
    rollup = UsageModelDaily
    statement = select(rollup.model).where(col(rollup.provider) == provider).distinct().limit(MAX_PROVIDER_MODELS + 1)
    models = sorted(set(session.exec(statement)))
    return models if len(models) <= MAX_PROVIDER_MODELS else None


def _newest_across_models(
    session: Session, conditions: list[ColumnElement[bool]], models: list[str], count: int
) -> list[UsageRecord]:
    """The newest `count` rows under `conditions` among those of `models`: each model's newest `count` through
    the model index, merged. Only the (created_at, id) keys are merged; the rows are read once, at the end."""
    newest: list[tuple[datetime, int]] = []
    for model in models:
        found = session.exec(model_walk(conditions, model, count))
        newest += [(created_at, row_id) for created_at, row_id in found if row_id is not None]
    newest.sort(reverse=True)
    ids = [row_id for _, row_id in newest[:count]]
    return _newest(session, [col(UsageRecord.id).in_(ids)], count) if ids else []


def model_walk(conditions: list[ColumnElement[bool]], model: str, count: int) -> Select[datetime, int | None]:
    """The keys of one model's newest `count` rows under `conditions` (the model index, newest first)."""
    record = UsageRecord
    statement = select(col(record.created_at), col(record.id)).where(*conditions, col(record.model) == model)
    return statement.order_by(*_NEWEST_FIRST).limit(count)


def walk(engine: Engine, call_filter: CallFilter, batch: int = 1000) -> Iterator[list[UsageRecord]]:
    """Every matching call newest first, a batch at a time, each batch read in its own short transaction (an
    export of millions of rows holds neither memory nor a snapshot open)."""
    after: tuple[datetime, int] | None = None
    while True:
        with Session(engine) as session:
            rows, cursor = page(session, call_filter, batch, after)
            session.expunge_all()
        if rows:
            yield rows
        if cursor is None:
            return
        after = decode_cursor(cursor)


@dataclass(frozen=True)
class Names:
    """The emails of users and the names and prefixes of keys a page of calls refers to."""

    users: dict[int, str]
    keys: dict[int, tuple[str, str]]


def names_of(session: Session, rows: list[UsageRecord]) -> Names:
    user_ids = {row.user_id for row in rows if row.user_id is not None}
    key_ids = {row.api_key_id for row in rows if row.api_key_id is not None}
    users: dict[int, str] = {}
    keys: dict[int, tuple[str, str]] = {}
    if user_ids:
        users = {
            uid: email
            for uid, email in session.exec(select(User.id, User.email).where(col(User.id).in_(user_ids)))
            if uid is not None
        }
    if key_ids:
        found = session.exec(select(ApiKey.id, ApiKey.name, ApiKey.prefix).where(col(ApiKey.id).in_(key_ids)))
        keys = {kid: (name, prefix) for kid, name, prefix in found if kid is not None}
    return Names(users, keys)
