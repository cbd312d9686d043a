"""Reservations: what admission holds for a call in flight, so calls running at the same time cannot all pass a
quota or budget that only finished calls would have filled.

A call reserves its expected cost before it is forwarded: the input estimated from the request body's size
(usage/estimates.py, conservative), the output from its max_tokens / max_output_tokens / max_completion_tokens,
capped at GATEWAY_RESERVATION_MAX_OUTPUT_TOKENS (which also stands in when the request sets none), and the cost
of both at the model's price (input at the dearer of its input and cache-write prices). The reservation is added
to the same buckets as finished calls' use, for the call's user and key, in the same atomic step as the checks;
when the call's usage row is counted the reservation is taken back out of those buckets and the real figures
counted, and a call that fails before any usage is counted at zero the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway_api.limits.counters import Increment
from gateway_api.limits.rules import LimitKind, counted_subjects
from gateway_api.limits.windows import Window
from gateway_api.providers.pricing import TOKENS_PER_PRICE_UNIT, Price
from gateway_api.usage.estimates import tokens_for_bytes

# Kinds whose use a reservation adds to (the requests rate counts calls, not tokens; concurrency counts slots).
RESERVED_KINDS = (LimitKind.input_tokens, LimitKind.output_tokens, LimitKind.daily_spend, LimitKind.monthly_spend)


@dataclass(frozen=True, slots=True)
class Expected:
    """A call's expected cost, reserved before it is forwarded."""

    input_tokens: int
    output_tokens: int
    cost_usd: float


def expected_cost(body_size: int, max_output_tokens: int | None, output_cap: int, price: Price) -> Expected:
    output = output_cap if max_output_tokens is None or max_output_tokens < 0 else min(max_output_tokens, output_cap)
    input_tokens = tokens_for_bytes(body_size)
    input_price = max(price.input, price.cache_write)
    cost = (input_tokens * input_price + output * price.output) / TOKENS_PER_PRICE_UNIT
    return Expected(input_tokens, output, cost)


@dataclass(slots=True)
class Ticket:
    """What an admitted call holds: its reservation (taken back when its usage is counted) and its concurrency
    slots (given back when it ends). `shared`: held in the shared store (Redis, the counter owner), not locally."""

    lease: str
    reserved: tuple[Increment, ...]
    slots: tuple[str, ...]
    shared: bool


def reservation(
    expected: Expected, user_id: int, key_id: int | None, windows: dict[LimitKind, Window], now: float
) -> tuple[Increment, ...]:
    """The increments that reserve `expected` for the call's user and key, in the buckets open now."""
    amounts = (expected.input_tokens, expected.output_tokens, expected.cost_usd, expected.cost_usd)
    increments = []
    for kind, amount in zip(RESERVED_KINDS, amounts, strict=True):
        if amount:
            window = windows[kind]
            bucket = window.current(now)
            increments += [
                Increment(subject, window, bucket, float(amount)) for subject in counted_subjects(user_id, key_id)
            ]
    return tuple(increments)


def taken_back(reserved: tuple[Increment, ...]) -> list[Increment]:
    return [Increment(i.subject, i.window, i.bucket, -i.amount) for i in reserved]
