"""The limits service: asked before a call is forwarded (`plan_for` + `admit`), told after it (`count`).

Hot path: `plan_for` is one identity check and one dict lookup, and None (nothing to check) for every key without
a limit. With limits, `admit` reads the counters (one Redis round trip, or local dicts) and counts the request
against a per-minute rate. `count` tallies a finished call's tokens and cost per (user, key); the tallies reach the
local counters before anything reads them and Redis in batches (every FLUSH_DELAY_SECONDS).
A failing Redis never fails a call: the local counts answer until it is back (retried every few seconds).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import redis.exceptions
from sqlalchemy import Engine

from gateway_api.catalog.snapshot import KeyEntry, Snapshot
from gateway_api.core.settings import Settings
from gateway_api.limits.counters import Increment, LocalCounters, Reading, RedisCounters
from gateway_api.limits.rules import (
    NO_LIMITS,
    LimitKind,
    LimitRule,
    LimitSource,
    LimitValues,
    counted_subjects,
    default_limits,
    effective_rules,
)
from gateway_api.limits.seeding import SeedRow, load_seed
from gateway_api.limits.windows import (
    DAILY_SPEND_WINDOW,
    MONTHLY_SPEND_WINDOW,
    REQUEST_WINDOW,
    Window,
    format_duration,
    format_window,
    keep_seconds,
    seconds_until_below,
    token_window,
)
from gateway_api.usage.rows import UsageRow

log = logging.getLogger("gateway.limits")

REDIS_ERRORS = (redis.exceptions.RedisError, OSError, TimeoutError)
REDIS_RETRY_SECONDS = 5.0
FLUSH_DELAY_SECONDS = 0.05  # batches the counts of calls finishing together into one Redis pipeline
Plan = tuple[LimitRule, ...]
# What `count` adds, in the order of its tallies: input tokens, output tokens, and the cost twice (day and month).
_COUNTED_KINDS = (LimitKind.input_tokens, LimitKind.output_tokens, LimitKind.daily_spend, LimitKind.monthly_spend)


@dataclass(frozen=True, slots=True)
class Exceeded:
    """Why a call is refused: the message names the limit and when it resets."""

    message: str
    retry_after: float
    limit: LimitKind


class Limiter:
    def __init__(self, settings: Settings, engine: Engine) -> None:
        self._engine = engine
        self.defaults: LimitValues = default_limits(settings)
        self._token_window = token_window("in", settings.token_quota_window_hours)
        self.window_seconds = self._token_window.length
        self.windows: dict[LimitKind, Window] = {
            LimitKind.input_tokens: self._token_window,
            LimitKind.output_tokens: token_window("out", settings.token_quota_window_hours),
            LimitKind.requests: REQUEST_WINDOW,
            LimitKind.daily_spend: DAILY_SPEND_WINDOW,
            LimitKind.monthly_spend: MONTHLY_SPEND_WINDOW,
        }
        self._local = LocalCounters()
        self._redis = (
            RedisCounters(settings.redis_url, settings.limits_redis_prefix, settings.limits_redis_timeout_seconds)
            if settings.redis_url
            else None
        )
        self._redis_down_until = 0.0  # monotonic
        self._redis_healthy = True
        self._pending: dict[str, tuple[float, float]] = {}  # Redis key -> (amount, when it stops counting)
        self._flush_task: asyncio.Task[None] | None = None
        self._planned_snapshot: Snapshot | None = None
        self._plans: dict[int, Plan | None] = {}
        # (user id, key id) -> [input tokens, output tokens, cost] of calls not yet in the counters (see count()).
        self._uncounted: dict[tuple[int, int | None], list[float]] = {}
        self._uncounted_at = 0.0
        self._fold_before = 0.0
        self._counted_windows = [self.windows[kind] for kind in _COUNTED_KINDS]

    # --- before the call -------------------------------------------------------------------------------------

    def plan_for(self, snapshot: Snapshot, key: KeyEntry) -> Plan | None:
        """The limits a call with `key` is held to, None when there are none (memoised per catalog snapshot)."""
        if snapshot is not self._planned_snapshot:
            self._planned_snapshot, self._plans = snapshot, {}
        try:
            return self._plans[key.id]
        except KeyError:
            plan = self.rules_for(snapshot, key.user_id, key.id) or None
            self._plans[key.id] = plan
            return plan

    def rules_for(self, snapshot: Snapshot, user_id: int, key_id: int | None = None) -> Plan:
        user = snapshot.users_by_id.get(user_id)
        key_limits = snapshot.key_limits.get(key_id, NO_LIMITS) if key_id is not None else NO_LIMITS
        return effective_rules(
            self.defaults,
            user_id,
            user is not None and user.is_admin,
            snapshot.user_limits.get(user_id, NO_LIMITS),
            key_id,
            key_limits,
        )

    async def admit(self, plan: Plan) -> Exceeded | None:
        """None if the call may go ahead (it is then counted against its request rate), else why not."""
        self._fold()
        now = time.time()
        reads = [rule for rule in plan if rule.kind is not LimitKind.requests]
        rates = [rule for rule in plan if rule.kind is LimitKind.requests]
        read_specs = [(r.subject, self.windows[r.kind]) for r in reads]
        rate_specs: list[tuple[str, Window]] = [(r.subject, REQUEST_WINDOW) for r in rates]
        readings, rate_readings, counted_in_redis = await self._read(read_specs, rate_specs, now)
        for rule, reading in zip([*reads, *rates], [*readings, *rate_readings], strict=True):
            used = sum(value for _, value in reading)
            if used >= rule.limit:
                if counted_in_redis and rate_specs:
                    await self._take_back(rate_specs, now)
                wait = seconds_until_below(self.windows[rule.kind], reading, rule.limit, now)
                log.info("call refused by a limit", extra={"limit": rule.kind.value, "subject": rule.subject})
                return Exceeded(
                    f"{self.describe(rule)} exceeded{_whose(rule)}; resets in {format_duration(wait)}", wait, rule.kind
                )
        for subject, window in rate_specs:
            self._local.add(Increment(subject, window, window.current(now), 1), now)
        return None

    def describe(self, rule: LimitRule) -> str:
        limit = rule.limit
        match rule.kind:
            case LimitKind.input_tokens | LimitKind.output_tokens:
                which = "input" if rule.kind is LimitKind.input_tokens else "output"
                return f"{which} token quota of {int(limit)} per {format_window(self.window_seconds)}"
            case LimitKind.requests:
                return f"request rate of {int(limit)} per minute"
            case LimitKind.daily_spend:
                return f"daily spend budget of {_usd(limit)}"
            case LimitKind.monthly_spend:
                return f"monthly spend budget of {_usd(limit)}"

    # --- after the call ------------------------------------------------------------------------------------

    def count(self, row: UsageRow) -> None:
        """Note a usage row's tokens and cost for its user's and key's counters. Never raises into the caller.

        This runs after every call, so it only adds to a per-(user, key) tally; the tallies go into the counters
        (eight bucket updates per call, and Redis increments) when something reads or flushes them, and before
        the first call that finishes past a bucket boundary, so every call is still counted in the buckets of
        the moment it finished."""
        user_id = row.user_id
        if user_id is None:
            return
        now = time.time()
        if now >= self._fold_before:
            self._fold()
            self._fold_before = min(window.next_bucket_at(now) for window in self._counted_windows)
        tally_key = (user_id, row.api_key_id)
        input_tokens, output_tokens, cost = row.tokens.input_tokens, row.tokens.output_tokens, row.cost_usd
        tally = self._uncounted.get(tally_key)
        if tally is None:
            self._uncounted[tally_key] = [input_tokens, output_tokens, cost]
        else:
            tally[0] += input_tokens
            tally[1] += output_tokens
            tally[2] += cost
        self._uncounted_at = now
        self._schedule_flush()

    def _fold(self) -> None:
        """Add the tallies of `count` to the counters, in the buckets of the moment the last of them finished
        (no bucket boundary lies between their calls: `count` folds before crossing one)."""
        if not self._uncounted:
            return
        tallies, self._uncounted = self._uncounted, {}
        now = self._uncounted_at
        buckets = [(window, window.current(now)) for window in self._counted_windows]
        for (user_id, key_id), amounts in tallies.items():
            subjects = counted_subjects(user_id, key_id)
            for (window, bucket), amount in zip(buckets, (*amounts, amounts[2]), strict=True):
                if amount:
                    for subject in subjects:
                        self._add(subject, window, bucket, float(amount), now)

    # --- reporting -----------------------------------------------------------------------------------------

    async def used(self, subjects: list[str]) -> dict[str, dict[LimitKind, float]]:
        """Current use per subject and limit kind (what `admit` would compare against the limits)."""
        self._fold()
        now = time.time()
        pairs = [(subject, kind) for subject in subjects for kind in LimitKind]
        readings, _, _ = await self._read([(s, self.windows[k]) for s, k in pairs], [], now)
        result: dict[str, dict[LimitKind, float]] = {subject: {} for subject in subjects}
        for (subject, kind), reading in zip(pairs, readings, strict=True):
            result[subject][kind] = sum(value for _, value in reading)
        return result

    # --- lifecycle -----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Seed the counters of the open windows from the usage table (and Redis, if it has none yet)."""
        now = time.time()
        seed = await asyncio.to_thread(load_seed, self._engine, self._token_window, now)
        increments: list[Increment] = []
        for row in seed:
            for subject in counted_subjects(row.user_id, row.api_key_id):
                increments += self._seed_increments(subject, row, now)
        for increment in increments:
            self._local.add(increment, now)
        if self._redis is None:
            return
        try:
            if await self._redis.claim_seeding():
                await self._redis.add(self._redis_increment(i, now) for i in increments)
                log.info("limit counters seeded in Redis from %d usage aggregates", len(seed))
        except REDIS_ERRORS as exc:
            self._redis_failed(exc)

    async def close(self) -> None:
        if self._flush_task is not None:
            self._flush_task.cancel()
            await asyncio.gather(self._flush_task, return_exceptions=True)
        if self._redis is not None:
            await self.flush()
            await self._redis.close()

    async def flush(self) -> bool:
        """Send the queued counts to Redis; False (they stay queued) if it is away."""
        self._fold()
        if self._redis is None or not self._pending:
            return True
        batch, self._pending = self._pending, {}
        now = time.time()
        live = [(key, amount, keep_until) for key, (amount, keep_until) in batch.items() if keep_until > now]
        try:
            await self._redis.add((key, amount, int(keep_until - now) + 1) for key, amount, keep_until in live)
        except REDIS_ERRORS as exc:
            self._redis_failed(exc)
            for key, amount, keep_until in live:
                queued, _ = self._pending.get(key, (0.0, keep_until))
                self._pending[key] = (queued + amount, keep_until)
            return False
        self._redis_recovered()
        return True

    # --- internals -----------------------------------------------------------------------------------------

    def _add(self, subject: str, window: Window, bucket: int, amount: float, now: float) -> None:
        self._local.add_amount(subject, window, bucket, amount, now)
        if self._redis is not None:
            key, ttl = self._redis_slot(subject, window, bucket, now)
            queued, _ = self._pending.get(key, (0.0, 0.0))
            self._pending[key] = (queued + amount, now + ttl)

    def _redis_increment(self, increment: Increment, now: float) -> tuple[str, float, int]:
        key, ttl = self._redis_slot(increment.subject, increment.window, increment.bucket, now)
        return key, increment.amount, ttl

    def _redis_slot(self, subject: str, window: Window, bucket: int, now: float) -> tuple[str, int]:
        """A bucket's Redis key and how many more seconds it must be kept."""
        assert self._redis is not None
        return self._redis.key(subject, window.metric, bucket), keep_seconds(window, bucket, now)

    def _seed_increments(self, subject: str, row: SeedRow, now: float) -> list[Increment]:
        if row.input_bucket is not None:
            found: list[tuple[LimitKind, float]] = [
                (LimitKind.input_tokens, row.input_tokens),
                (LimitKind.output_tokens, row.output_tokens),
            ]
            return [
                Increment(subject, self.windows[kind], row.input_bucket, float(amount))
                for kind, amount in found
                if amount
            ]
        found = [(LimitKind.daily_spend, row.spend_today), (LimitKind.monthly_spend, row.spend_this_month)]
        return [
            Increment(subject, self.windows[kind], self.windows[kind].current(now), amount)
            for kind, amount in found
            if amount
        ]

    def _schedule_flush(self) -> None:
        if self._redis is not None and (self._flush_task is None or self._flush_task.done()):
            self._flush_task = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        while self._pending or self._uncounted:
            await asyncio.sleep(FLUSH_DELAY_SECONDS if self._redis_usable() else REDIS_RETRY_SECONDS)
            await self.flush()

    async def _read(
        self, reads: list[tuple[str, Window]], rates: list[tuple[str, Window]], now: float
    ) -> tuple[list[Reading], list[Reading], bool]:
        if self._redis is not None and self._redis_usable():
            try:
                readings, rate_readings = await self._redis.read(reads, rates, now)
            except REDIS_ERRORS as exc:
                self._redis_failed(exc)
            else:
                self._redis_recovered()
                return readings, rate_readings, True
        local = self._local
        return (
            [local.read(s, w, now) for s, w in reads],
            [local.read(s, w, now) for s, w in rates],
            False,
        )

    async def _take_back(self, rates: list[tuple[str, Window]], now: float) -> None:
        assert self._redis is not None
        try:
            await self._redis.uncount(rates, now)
        except REDIS_ERRORS as exc:
            self._redis_failed(exc)

    def _redis_usable(self) -> bool:
        return time.monotonic() >= self._redis_down_until

    def _redis_failed(self, exc: BaseException) -> None:
        if self._redis_healthy:
            log.warning(
                "limit counters: Redis unavailable (%s); counting in this process only until it answers",
                type(exc).__name__,
            )
        self._redis_healthy = False
        self._redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS

    def _redis_recovered(self) -> None:
        if not self._redis_healthy:
            log.warning("limit counters: Redis answers again; queued counts sent")
            self._redis_healthy = True


def _whose(rule: LimitRule) -> str:
    return " for this API key" if rule.source is LimitSource.key else ""


def _usd(amount: float) -> str:
    return f"${amount:.2f}" if round(amount, 2) == amount else f"${amount:g}"
