"""The limiter's side of a shared counter store (Redis, or the counter owner): counts queued and sent in batches,
concurrency leases renewed while their calls run and given back when they end, and the store's health.

A failing Redis is left alone for REDIS_RETRY_SECONDS (the limiter counts in its own process meanwhile); the
counter owner has no such fallback (`fails_closed`): the limiter refuses calls it cannot count.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

import redis.exceptions

from gateway_api.core.settings import Settings
from gateway_api.limits.counters import Increment, RedisCounters
from gateway_api.limits.owner_client import OwnerStore, OwnerUnavailable
from gateway_api.limits.redis_store import RedisStore
from gateway_api.limits.reservations import Ticket
from gateway_api.limits.windows import Window, keep_seconds

log = logging.getLogger("gateway.limits")

REDIS_ERRORS = (redis.exceptions.RedisError, OSError, TimeoutError)
SHARED_ERRORS = (*REDIS_ERRORS, OwnerUnavailable)
REDIS_RETRY_SECONDS = 5.0
FLUSH_DELAY_SECONDS = 0.05  # batches the counts of calls finishing together into one shared-store message
SharedStore = RedisStore | OwnerStore
_Slot = tuple[str, Window, int]  # (subject, window, bucket) of a queued count


class SharedLink:
    def __init__(self, store: SharedStore, lease_seconds: float, before_flush: Callable[[], None]) -> None:
        self.store = store
        self._lease_seconds = lease_seconds
        self._before_flush = before_flush  # the limiter's fold: its tallies join the queue first
        self._pending: dict[_Slot, tuple[float, float]] = {}  # -> (amount, when it stops counting)
        self._held: dict[str, Ticket] = {}  # lease -> a ticket holding slots in the store
        self._flush_task: asyncio.Task[None] | None = None
        self._renew_task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._down_until = 0.0  # monotonic
        self._healthy = True

    @property
    def fails_closed(self) -> bool:
        return self.store.fails_closed

    # --- health ----------------------------------------------------------------------------------------------

    def usable(self) -> bool:
        """Worth asking now (a store that fails closed is always asked: there is nothing else to ask)."""
        return self.store.fails_closed or time.monotonic() >= self._down_until

    def failed(self, exc: BaseException) -> None:
        if self._healthy:
            meanwhile = (
                "calls with limits are refused (503) and counts queued until it answers"
                if self.store.fails_closed
                else "counting in this process only until it answers"
            )
            log.warning("limit counters: %s unavailable (%s); %s", self.store.name, type(exc).__name__, meanwhile)
        self._healthy = False
        self._down_until = time.monotonic() + REDIS_RETRY_SECONDS

    def recovered(self) -> None:
        if not self._healthy:
            log.warning("limit counters: %s answers again; queued counts sent", self.store.name)
            self._healthy = True

    # --- counts ----------------------------------------------------------------------------------------------

    def queue(self, subject: str, window: Window, bucket: int, amount: float, now: float) -> None:
        slot = (subject, window, bucket)
        queued, _ = self._pending.get(slot, (0.0, 0.0))
        self._pending[slot] = (queued + amount, now + keep_seconds(window, bucket, now))

    def schedule_flush(self) -> None:
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.get_running_loop().create_task(self._flush_soon())

    async def flush(self) -> bool:
        """Send the queued counts; False (they stay queued) if the store is away."""
        self._before_flush()
        if not self._pending:
            return True
        batch, self._pending = self._pending, {}
        now = time.time()
        live = [(slot, amount, keep_until) for slot, (amount, keep_until) in batch.items() if keep_until > now]
        try:
            await self.store.add(
                (Increment(subject, window, bucket, amount), int(keep_until - now) + 1)
                for (subject, window, bucket), amount, keep_until in live
            )
        except SHARED_ERRORS as exc:
            self.failed(exc)
            for slot, amount, keep_until in live:
                queued, _ = self._pending.get(slot, (0.0, keep_until))
                self._pending[slot] = (queued + amount, keep_until)
            return False
        self.recovered()
        return True

    async def _flush_soon(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_DELAY_SECONDS if self.usable() else REDIS_RETRY_SECONDS)
            await self.flush()
            self._before_flush()  # tallies counted while the batch was on its way
            if not self._pending:
                return

    # --- concurrency slots -----------------------------------------------------------------------------------

    def hold(self, ticket: Ticket) -> None:
        self._held[ticket.lease] = ticket
        if self._renew_task is None or self._renew_task.done():
            self._renew_task = asyncio.get_running_loop().create_task(self._renew_leases())

    def release(self, ticket: Ticket) -> None:
        self._held.pop(ticket.lease, None)
        task = asyncio.get_running_loop().create_task(self._quietly(self.store.release(ticket.lease, ticket.slots)))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _renew_leases(self) -> None:
        """While calls hold slots, extend their leases every third of a lease (a long call keeps its slot; the
        slots of a process that died expire)."""
        while self._held:
            await asyncio.sleep(self._lease_seconds / 3)
            if not self._held:
                return
            leases = [(lease, ticket.slots) for lease, ticket in self._held.items()]
            try:
                await self.store.renew(leases, time.time() + self._lease_seconds)
            except SHARED_ERRORS as exc:
                self.failed(exc)

    async def _quietly(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except SHARED_ERRORS as exc:
            log.warning("limit counters: a concurrency slot could not be given back (%s)", type(exc).__name__)

    # --- lifecycle -------------------------------------------------------------------------------------------

    async def close(self) -> None:
        if self._background:  # slots being given back: let them go out first
            await asyncio.gather(*self._background, return_exceptions=True)
        tasks = [task for task in (self._flush_task, self._renew_task) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.flush()
        for ticket in list(self._held.values()):  # calls cut by the shutdown: their slots come back now
            await asyncio.gather(self._quietly(self.store.release(ticket.lease, ticket.slots)))
        await self.store.close()


def shared_link(settings: Settings, before_flush: Callable[[], None]) -> SharedLink | None:
    """Redis when set (every replica), else the counter owner when `gateway serve --workers N` started one."""
    store: SharedStore
    if settings.redis_url:
        counters = RedisCounters(
            settings.redis_url, settings.limits_redis_prefix, settings.limits_redis_timeout_seconds
        )
        store = RedisStore(counters, settings.concurrency_lease_seconds)
    elif settings.limits_socket:
        store = OwnerStore(settings.limits_socket, settings.limits_redis_timeout_seconds)
    else:
        return None
    return SharedLink(store, settings.concurrency_lease_seconds, before_flush)
