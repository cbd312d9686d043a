"""Which limits apply to a call: per kind, the key's override, else its user's, else the settings default.

Admins ignore the defaults (they are limited only where a limit is set on them or their key). A limit that comes
from the key counts that key's use; one from the user or the defaults counts the user's use across all keys.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum
from typing import cast

from gateway_api.core.settings import Settings


class LimitKind(StrEnum):
    input_tokens = "input_token_quota"
    output_tokens = "output_token_quota"
    requests = "requests_per_minute"
    daily_spend = "daily_budget_usd"
    monthly_spend = "monthly_budget_usd"
    concurrent_calls = "max_concurrent_calls"  # calls in flight at once (no time window)


class LimitSource(StrEnum):
    key = "key"
    user = "user"
    default = "default"


@dataclass(frozen=True, slots=True)
class LimitValues:
    """One set of limits (None = not set here). Field names are the LimitKind values."""

    input_token_quota: int | None = None
    output_token_quota: int | None = None
    requests_per_minute: int | None = None
    daily_budget_usd: float | None = None
    monthly_budget_usd: float | None = None
    max_concurrent_calls: int | None = None

    def get(self, kind: LimitKind) -> float | None:
        return cast("float | None", getattr(self, kind.value))

    def as_dict(self) -> dict[str, float | None]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def empty(self) -> bool:
        return all(value is None for value in self.as_dict().values())


NO_LIMITS = LimitValues()


@dataclass(frozen=True, slots=True)
class LimitRule:
    kind: LimitKind
    limit: float
    source: LimitSource
    subject: str  # whose counters: user_subject(...) or key_subject(...)


def user_subject(user_id: int) -> str:
    return f"u{user_id}"


def key_subject(key_id: int) -> str:
    return f"k{key_id}"


def counted_subjects(user_id: int, key_id: int | None) -> tuple[str, ...]:
    """Whose counters a call of `user_id` with `key_id` adds to: the user's, and the key's when there is one
    (no key is None in records and 0 in the rollups)."""
    return (user_subject(user_id), key_subject(key_id)) if key_id else (user_subject(user_id),)


def default_limits(settings: Settings) -> LimitValues:
    return LimitValues(
        input_token_quota=settings.default_input_token_quota,
        output_token_quota=settings.default_output_token_quota,
        requests_per_minute=settings.default_requests_per_minute,
        daily_budget_usd=settings.default_daily_budget_usd,
        monthly_budget_usd=settings.default_monthly_budget_usd,
        max_concurrent_calls=settings.default_max_concurrent_calls,
    )


def effective_rules(
    defaults: LimitValues,
    user_id: int,
    is_admin: bool,
    user_limits: LimitValues,
    key_id: int | None = None,
    key_limits: LimitValues = NO_LIMITS,
) -> tuple[LimitRule, ...]:
    """The limits a call through key `key_id` (or, with None, through any key without overrides) is held to."""
    rules = []
    for kind in LimitKind:
        value = key_limits.get(kind) if key_id is not None else None
        if value is not None:
            rules.append(LimitRule(kind, value, LimitSource.key, key_subject(key_id or 0)))
            continue
        value, source = user_limits.get(kind), LimitSource.user
        if value is None and not is_admin:
            value, source = defaults.get(kind), LimitSource.default
        if value is not None:
            rules.append(LimitRule(kind, value, source, user_subject(user_id)))
    return tuple(rules)
