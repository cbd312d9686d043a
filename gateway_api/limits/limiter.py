"""The limits service: asked before a call is forwarded (`plan_for` + `admit`), told after it (`count`, `end`).

Hot path: `plan_for` is one identity check and one dict lookup, and None (nothing to check) for every key without
a limit. With limits, `admit` asks one store, atomically, to check every limit and then count the request against
its per-minute rate, reserve the call's expected cost (reservations.py) and take its concurrency slots: this
process's LocalStore without an await, else one Redis script or one message to the counter owner of a
multi-worker `gateway serve` (owner.py). `count` tallies a finished call's tokens and cost per (user, key) and takes
its reservation back; the tallies reach the local counters before anything reads them and the shared store in
batches (every FLUSH_DELAY_SECONDS). `end` gives a call's concurrency slots back.
A failing Redis never fails a call: the local counts answer until it is back (retried every few seconds). A
counter owner that cannot be reached fails closed (LimitsUnavailable: the proxy answers 503).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import os
import time
from dataclasses import dataclass, replace

from sqlalchemy import Engine

from gateway_api.catalog.snapshot import KeyEntry, Snapshot
from gateway_api.core.settings import Settings
from gateway_api.limits.admission import Ask, Check, Refused
from gateway_api.limits.counters import Increment, Reading
from gateway_api.limits.local_store import LocalStore
from gateway_api.limits.reservations import RESERVED_KINDS, Expected, Ticket, reservation, taken_back
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
from gateway_api.limits.shared_link import SHARED_ERRORS, shared_link
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

Plan = tuple[LimitRule, ...]
MAX_RESERVATIONS = 100_000  # calls in flight per process, far beyond any real load
MAX_SHAPES = 10_000  # plans are memoised per snapshot; this bounds callers that build their own
# What `count` adds, in the order of its tallies: input tokens, output tokens, and the cost twice (day and month).
_COUNTED_KINDS = (LimitKind.input_tokens, LimitKind.output_tokens, LimitKind.daily_spend, LimitKind.monthly_spend)


@dataclass(frozen=True, slots=True)
class Exceeded:
    """Why a call is refused: the message names the limit and when it resets."""

    message: str
    retry_after: float
    limit: LimitKind


class LimitsUnavailable(Exception):
    """The shared counters of a multi-worker gateway cannot be reached: calls with limits are refused (503)."""


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
        self._local = LocalStore()
        self._link = shared_link(settings, self._fold)
        self._output_cap = settings.reservation_max_output_tokens
        self._lease_seconds = settings.concurrency_lease_seconds
        self._lease_ids = itertools.count()
        self._lease_prefix = f"{os.getpid()}.{os.urandom(4).hex()}."
        self._reserved: dict[str, Ticket] = {}  # call id -> the ticket whose reservation its usage row takes back
        self._shapes: dict[int, tuple[Plan, _PlanShape]] = {}  # id(plan) -> what admitting under it asks
        self._planned_snapshot: Snapshot | None = None
        self._plans: dict[int, Plan | None] = {}
        # (user id, key id) -> [input tokens, output tokens, cost] of calls not yet in the counters (see count()).
        self._uncounted: dict[tuple[int, int | None], list[float]] = {}
        self._uncounted_at = 0.0
        self._fold_before = 0.0
        self._counted_windows = [self.windows[kind] for kind in _COUNTED_KINDS]

    @property
    def output_cap(self) -> int:
        return self._output_cap

    # --- before the call -------------------------------------------------------------------------------------

    def plan_for(self, snapshot: Snapshot, key: KeyEntry) -> Plan | None:
        """The limits a call with `key` is held to, None when there are none (memoised per catalog snapshot)."""
        if snapshot is not self._planned_snapshot:
            self._planned_snapshot, self._plans, self._shapes = snapshot, {}, {}
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

    async def admit(
        self,
        plan: Plan,
        user_id: int = 0,
        key_id: int | None = None,
        expected: Expected | None = None,
        call_id: str | None = None,
    ) -> Exceeded | Ticket | None:
        """Exceeded if a limit refuses the call; else what it holds until its usage is counted (a reservation of
        `expected`, taken back by `count` of the row with `call_id`) and until it ends (slots, given back by
        `end`), None when it holds nothing. Raises LimitsUnavailable when the shared counters cannot answer."""
        self._fold()
        now = time.time()
        known = self._shapes.get(id(plan))
        if known is None or known[0] is not plan:
            if len(self._shapes) > MAX_SHAPES:
                self._shapes.clear()
            known = self._shapes[id(plan)] = (plan, _shape(plan, self.windows))
        checks, rates, slots, reserves = known[1]
        adds = [Increment(subject, REQUEST_WINDOW, REQUEST_WINDOW.current(now), 1.0) for subject in rates]
        reserved = (
            reservation(expected, user_id, key_id, self.windows, now)
            if reserves and expected is not None and call_id is not None
            else ()
        )
        lease = f"{self._lease_prefix}{next(self._lease_ids)}"
        lease_until = math.inf if self._link is None else now + self._lease_seconds
        ask = Ask(checks, (*adds, *reserved), slots, lease, lease_until)
        refused, shared = await self._ask(ask, now)
        if refused is not None:
            return self._exceeded(plan[refused.check], refused.reading, now)
        if not reserved and not slots:
            return None
        ticket = Ticket(lease, reserved, slots, shared)
        if reserved and call_id is not None:
            if len(self._reserved) >= MAX_RESERVATIONS:  # rows that never came (a bug): forget the oldest
                del self._reserved[next(iter(self._reserved))]
            self._reserved[call_id] = ticket
        if slots and shared and self._link is not None:
            self._link.hold(ticket)
        return ticket

    def end(self, ticket: Ticket) -> None:
        """The call of `ticket` is over: its concurrency slots come back (its reservation waits for its row)."""
        if not ticket.slots:
            return
        if ticket.shared and self._link is not None:
            self._link.release(ticket)
        else:
            self._local.release(ticket.lease, ticket.slots)

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
            case LimitKind.concurrent_calls:
                return f"limit of {int(limit)} concurrent calls"

    def _exceeded(self, rule: LimitRule, reading: Reading, now: float) -> Exceeded:
        log.info("call refused by a limit", extra={"limit": rule.kind.value, "subject": rule.subject})
        if rule.kind is LimitKind.concurrent_calls:
            return Exceeded(
                f"{self.describe(rule)} reached{_whose(rule)}; try again when one of them has finished", 1.0, rule.kind
            )
        wait = seconds_until_below(self.windows[rule.kind], reading, rule.limit, now)
        return Exceeded(
            f"{self.describe(rule)} exceeded{_whose(rule)}; resets in {format_duration(wait)}", wait, rule.kind
        )

    async def _ask(self, ask: Ask, now: float) -> tuple[Refused | None, bool]:
        """The store's answer, and whether the shared store gave it (else this process's, which never awaits)."""
        link = self._link
        if link is not None and link.usable():
            try:
                refused = await link.store.admit(ask, now)
            except SHARED_ERRORS as exc:
                if link.fails_closed:
                    raise LimitsUnavailable(str(exc)) from None
                link.failed(exc)
            else:
                link.recovered()
                return refused, True
        if ask.lease_until != math.inf:  # this process's slots are never lost to a crash of another
            ask = replace(ask, lease_until=math.inf)
        return self._local.admit(ask, now), False

    # --- after the call ------------------------------------------------------------------------------------

    def count(self, row: UsageRow) -> None:
        """Note a usage row's tokens and cost for its user's and key's counters, and take back the reservation
        its call made. Never raises into the caller.

        This runs after every call, so it only adds to a per-(user, key) tally; the tallies go into the counters
        (eight bucket updates per call, and shared-store increments) when something reads or flushes them, and
        before the first call that finishes past a bucket boundary, so every call is still counted in the buckets
        of the moment it finished."""
        if self._reserved and row.call_id is not None:
            ticket = self._reserved.pop(row.call_id, None)
            if ticket is not None:
                self._take_back(ticket)
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
        if self._link is not None:
            self._link.schedule_flush()

    def _take_back(self, ticket: Ticket) -> None:
        now = time.time()
        link = self._link
        if not ticket.shared or link is None:
            self._local.add(taken_back(ticket.reserved), now)
            return
        for increment in taken_back(ticket.reserved):
            link.queue(increment.subject, increment.window, increment.bucket, increment.amount, now)
        link.schedule_flush()

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
        pairs = [(subject, kind) for subject in subjects for kind in LimitKind if kind in self.windows]
        specs = [(s, self.windows[k]) for s, k in pairs]
        readings: list[Reading] | None = None
        held: list[int] | None = None
        link = self._link
        if link is not None and link.usable():
            try:
                readings, held = await link.store.read(specs, now), await link.store.held(subjects, now)
            except SHARED_ERRORS as exc:
                if link.fails_closed:
                    raise LimitsUnavailable(str(exc)) from None
                link.failed(exc)
        if readings is None or held is None:
            readings = [self._local.read(s, w, now) for s, w in specs]
            held = [self._local.held(s, now) for s in subjects]
        result: dict[str, dict[LimitKind, float]] = {subject: {} for subject in subjects}
        for (subject, kind), reading in zip(pairs, readings, strict=True):
            result[subject][kind] = sum(value for _, value in reading)
        for subject, count in zip(subjects, held, strict=True):
            result[subject][LimitKind.concurrent_calls] = float(count)
        return result

    # --- lifecycle -----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Seed the counters of the open windows from the usage table (and the shared store, if it has none)."""
        now = time.time()
        seed = await asyncio.to_thread(load_seed, self._engine, self._token_window, now)
        increments: list[Increment] = []
        for row in seed:
            for subject in counted_subjects(row.user_id, row.api_key_id):
                increments += self._seed_increments(subject, row, now)
        self._local.add(increments, now)
        link = self._link
        if link is None:
            return
        try:
            if await link.store.claim_seeding():
                await link.store.add((i, keep_seconds(i.window, i.bucket, now)) for i in increments)
                log.info("shared limit counters seeded from %d usage aggregates", len(seed))
        except SHARED_ERRORS as exc:
            link.failed(exc)

    async def close(self) -> None:
        if self._link is not None:
            await self._link.close()

    async def flush(self) -> bool:
        """Send the queued counts to the shared store; False (they stay queued) if it is away."""
        self._fold()
        return True if self._link is None else await self._link.flush()

    # --- internals -----------------------------------------------------------------------------------------

    def _add(self, subject: str, window: Window, bucket: int, amount: float, now: float) -> None:
        self._local.counters.add_amount(subject, window, bucket, amount, now)
        if self._link is not None:
            self._link.queue(subject, window, bucket, amount, now)

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


# A plan's checks, the subjects whose request rate it counts, the subjects whose slots it takes, and whether it
# has a quota or budget a reservation must be made against: the same for every call under the plan.
_PlanShape = tuple[tuple[Check, ...], tuple[str, ...], tuple[str, ...], bool]


def _shape(plan: Plan, windows: dict[LimitKind, Window]) -> _PlanShape:
    checks: list[Check] = []
    rates: list[str] = []
    slots: list[str] = []
    for rule in plan:
        if rule.kind is LimitKind.concurrent_calls:
            checks.append(Check(rule.subject, None, rule.limit))
            slots.append(rule.subject)
            continue
        checks.append(Check(rule.subject, windows[rule.kind], rule.limit))
        if rule.kind is LimitKind.requests:
            rates.append(rule.subject)
    reserves = any(rule.kind in RESERVED_KINDS for rule in plan)
    return tuple(checks), tuple(rates), tuple(slots), reserves


def _whose(rule: LimitRule) -> str:
    return " for this API key" if rule.source is LimitSource.key else ""


def _usd(amount: float) -> str:
    return f"${amount:.2f}" if round(amount, 2) == amount else f"${amount:g}"
