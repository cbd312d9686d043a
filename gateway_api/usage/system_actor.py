"""The gateway's own calls in usage: the message policy judge, a system actor with no user and no key.

Every proxied call is made with a gateway key, so it has a user; a refused call without a known key has none but is
never forwarded (outcome ``refused``). The only forwarded calls without a user are the judge's (its rows:
endpoint JUDGE_ENDPOINT, client JUDGE_CLIENT): in the rollups, which have no endpoint column, "no user and not
refused" is the judge. The usage views name that group MESSAGE_POLICY_ACTOR rather than a blank user.

The judge's spend is read from the per-key rollups at user and key id 0. Their primary key starts with
(bucket_start, user_id, api_key_id), so the whole buckets of the range are listed and each is one index seek to its
few judge rows: a month costs ~30 seeks, not a scan of the month's rollup rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, select

from gateway_api.db.models import Outcome, UsageDaily, UsageHourly, UsageRecord
from gateway_api.usage.filters import NO_ID, UsageFilter
from gateway_api.usage.spans import DAY, HOUR, plan_spans

JUDGE_ENDPOINT = "message_policy_judge"
JUDGE_CLIENT = "gateway/message-policy"
# The judge's group in totals and charts by user or key, and its name on one call (the call log, the CSV export).
MESSAGE_POLICY_ACTOR = "message policies"
MESSAGE_POLICY_JUDGE = "message policies (judge)"
NO_USER = "(no user)"
# Past this many buckets in one span (a range of years) the span is read as a range instead of bucket by bucket.
MAX_LISTED_BUCKETS = 2000
# Buckets listed past the present for a range without an end; anything later (a skewed clock) is read as a range.
OPEN_END_MARGIN = 2


@dataclass(frozen=True)
class SystemSpend:
    requests: int = 0
    cost_usd: float = 0.0


def no_user_label(usage_filter: UsageFilter) -> str:
    """The name of the "no user" group under a filter: the judge's, unless only refused calls are counted (then it
    is the calls refused before a key was known)."""
    return NO_USER if usage_filter.outcome is Outcome.refused else MESSAGE_POLICY_ACTOR


def is_judge_call(user_id: int | None, endpoint: str) -> bool:
    return user_id is None and endpoint == JUDGE_ENDPOINT


def message_policy_spend(session: Session, usage_filter: UsageFilter, now: datetime) -> SystemSpend:
    """The judge's requests and cost under the filter: nothing when the filter names users or keys (the judge is
    neither), and never refused rows (the judge's calls are forwarded)."""
    if usage_filter.user_ids or usage_filter.api_key_ids or usage_filter.outcome is Outcome.refused:
        return SystemSpend()
    requests, cost = 0, 0.0
    for source, lower, upper in _parts(usage_filter, now):
        if source == "raw":
            query = select(func.count(), func.sum(UsageRecord.cost_usd)).where(
                col(UsageRecord.user_id).is_(None), *usage_filter.conditions_within(UsageRecord, lower, upper)
            )
        else:
            table = UsageDaily if source == "daily" else UsageHourly
            query = select(func.sum(table.requests), func.sum(table.cost_usd)).where(
                *_bucket_conditions(table, lower, upper),
                col(table.user_id) == NO_ID,
                col(table.api_key_id) == NO_ID,
                *usage_filter.conditions_within(table, lower, upper),
            )
        count, spent = session.execute(query).one()
        requests += int(count or 0)
        cost += float(spent or 0.0)
    return SystemSpend(requests=requests, cost_usd=round(cost, 10))


Part = tuple[str, datetime, datetime | None]


def _parts(usage_filter: UsageFilter, now: datetime) -> list[Part]:
    """The filter's spans, an open-ended rollup span cut where listing its buckets stops (its tail read as a range)."""
    parts: list[Part] = []
    for span in plan_spans(usage_filter.start, usage_filter.end):
        if span.upper is not None or span.source == "raw":
            parts.append((span.source, span.lower, span.upper))
            continue
        step = DAY if span.source == "daily" else HOUR
        horizon = max(span.lower, _floor(now, step)) + OPEN_END_MARGIN * step
        parts += [(span.source, span.lower, horizon), (span.source, horizon, None)]
    return parts


def _bucket_conditions(
    table: type[UsageHourly | UsageDaily], lower: datetime, upper: datetime | None
) -> list[ColumnElement[bool]]:
    """The span's buckets listed (one index seek each), unless it is open-ended or too long to list."""
    if upper is None:
        return []
    step = DAY if table is UsageDaily else HOUR
    count = int((upper - lower) / step)
    if count > MAX_LISTED_BUCKETS:
        return []
    buckets: list[Any] = [lower + index * step for index in range(count)]
    return [col(table.bucket_start).in_(buckets)]


def _floor(moment: datetime, step: timedelta) -> datetime:
    moment = moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if step == DAY else moment
