"""What the usage table says was used in the windows that are open now, so counts survive a restart.

Read once per process at start (two aggregate queries), never per request.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Engine, Integer, case, cast, func
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from gateway_api.db.models import UsageRecord
from gateway_api.limits.windows import DAY_SECONDS, RollingWindow


@dataclass(frozen=True, slots=True)
class SeedRow:
    user_id: int
    api_key_id: int | None
    input_bucket: int | None  # bucket of the token window; None for the spend-only rows
    input_tokens: int = 0
    output_tokens: int = 0
    spend_today: float = 0.0
    spend_this_month: float = 0.0


def load_seed(engine: Engine, token_window: RollingWindow, now: float) -> list[SeedRow]:
    """Token sums per (user, key, token-window bucket) and spend per (user, key) for today and this month."""
    moment = datetime.fromtimestamp(now, UTC)
    day_start = datetime.fromtimestamp(now // DAY_SECONDS * DAY_SECONDS, UTC)
    month_start = datetime(moment.year, moment.month, 1, tzinfo=UTC)
    tokens_since = datetime.fromtimestamp(token_window.buckets(now).start * token_window.width, UTC)
    with Session(engine) as session:
        bucket = _epoch_bucket(session, token_window.width)
        token_rows = session.exec(
            select(  # type: ignore[call-overload]  # SQLModel's select() is typed for at most four columns
                UsageRecord.user_id,
                UsageRecord.api_key_id,
                bucket,
                func.sum(UsageRecord.input_tokens),
                func.sum(UsageRecord.output_tokens),
            )
            .where(col(UsageRecord.created_at) >= tokens_since, col(UsageRecord.user_id).is_not(None))
            .group_by(col(UsageRecord.user_id), col(UsageRecord.api_key_id), bucket)
        ).all()
        spend_rows = session.exec(
            select(
                UsageRecord.user_id,
                UsageRecord.api_key_id,
                func.sum(case((col(UsageRecord.created_at) >= day_start, UsageRecord.cost_usd), else_=0.0)),
                func.sum(UsageRecord.cost_usd),
            )
            .where(col(UsageRecord.created_at) >= month_start, col(UsageRecord.user_id).is_not(None))
            .group_by(col(UsageRecord.user_id), col(UsageRecord.api_key_id))
        ).all()
    # Both queries skip records without a user, so user_id is never None.
    seed = [
        SeedRow(typing.cast(int, user_id), key_id, int(b), input_tokens=int(i or 0), output_tokens=int(o or 0))
        for user_id, key_id, b, i, o in token_rows
    ]
    seed += [
        SeedRow(typing.cast(int, user_id), key_id, None, spend_today=float(d or 0), spend_this_month=float(m or 0))
        for user_id, key_id, d, m in spend_rows
    ]
    return seed


def _epoch_bucket(session: Session, width: int) -> ColumnElement[int] | ColumnElement[float | Decimal]:
    """floor(epoch seconds of created_at / width), in the database's own dialect."""
    created = col(UsageRecord.created_at)
    bind = session.get_bind()
    if bind.dialect.name == "sqlite":
        # A NUMERIC quotient (SQLAlchemy's / divides exactly); the caller floors it with int().
        return cast(func.strftime("%s", created), Integer) / width
    return cast(func.floor(func.extract("epoch", created) / width), Integer)
