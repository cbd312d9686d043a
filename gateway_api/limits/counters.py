"""Limit counters: per (subject, metric) sums in time buckets, in this process and optionally in Redis.

Local counts are always kept, so a Redis outage falls back to this process's own view instead of failing calls.
In Redis each bucket is one key `{prefix}{subject}:{metric}:{bucket}` with a TTL, so old buckets expire on their
own; every replica adds to and reads the same keys.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import redis.asyncio as aioredis

from gateway_api.limits.windows import Window, keep_seconds

Reading = list[tuple[int, float]]  # (bucket, value) for the buckets in the window that hold something, ascending


@dataclass(frozen=True, slots=True)
class Increment:
    subject: str
    window: Window
    bucket: int
    amount: float


class LocalCounters:
    """This process's counts. Buckets that left their window are dropped as new ones are added."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str], dict[int, float]] = {}

    def add(self, increment: Increment, now: float) -> None:
        self.add_amount(increment.subject, increment.window, increment.bucket, increment.amount, now)

    def add_amount(self, subject: str, window: Window, bucket: int, amount: float, now: float) -> None:
        """`add` without building an Increment: this runs for every finished call."""
        series = self._buckets.get((subject, window.metric))
        if series is None:
            series = self._buckets[(subject, window.metric)] = {}
        counted = series.get(bucket)
        if counted is not None:
            series[bucket] = counted + amount
            return
        # A new bucket: the moment to drop the ones that left the window (not on every add, which is hot).
        series[bucket] = amount
        if len(series) > 2 * len(window.buckets(now)) + 2:
            oldest = window.buckets(now).start
            for old in [b for b in series if b < oldest]:
                del series[old]

    def read(self, subject: str, window: Window, now: float) -> Reading:
        series = self._buckets.get((subject, window.metric))
        if not series:
            return []
        in_window = window.buckets(now)
        return sorted((b, v) for b, v in series.items() if b in in_window and v)


class RedisCounters:
    """The shared counts. Every call raises on a Redis failure; the limiter decides what to do about it."""

    def __init__(self, url: str, prefix: str, timeout: float) -> None:
        self._client = aioredis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self._prefix = prefix

    @property
    def client(self) -> aioredis.Redis:
        return self._client

    @property
    def prefix(self) -> str:
        return self._prefix

    def key(self, subject: str, metric: str, bucket: int) -> str:
        return f"{self._prefix}{subject}:{metric}:{bucket}"

    async def read(
        self, reads: list[tuple[str, Window]], admit: list[tuple[str, Window]], now: float
    ) -> tuple[list[Reading], list[Reading]]:
        """Readings of `reads`, and of `admit` after counting this request in it, in one atomic round trip.

        The admitted request is already subtracted from its reading, so both lists read "use before this call".
        """
        pipe = self._client.pipeline(transaction=True)
        for subject, window in reads:
            pipe.mget([self.key(subject, window.metric, b) for b in window.buckets(now)])
        for subject, window in admit:
            current = window.current(now)
            older = [self.key(subject, window.metric, b) for b in window.buckets(now) if b != current]
            pipe.mget(older or [self.key(subject, window.metric, current - 1)])
            pipe.incrbyfloat(self.key(subject, window.metric, current), 1)
            pipe.expire(self.key(subject, window.metric, current), keep_seconds(window, current, now))
        results = await pipe.execute()
        readings = [_reading(window.buckets(now), values) for (_, window), values in zip(reads, results, strict=False)]
        admitted = []
        rest = results[len(reads) :]
        for index, (_, window) in enumerate(admit):
            older_values, counted = rest[3 * index], float(rest[3 * index + 1])
            current = window.current(now)
            older_buckets = [b for b in window.buckets(now) if b != current] or [current - 1]
            reading = _reading(older_buckets, older_values)
            if counted > 1:
                reading.append((current, counted - 1))
            admitted.append(reading)
        return readings, admitted

    async def add(self, increments: Iterable[tuple[str, float, int]]) -> None:
        """(key, amount, ttl seconds) in one pipeline."""
        pipe = self._client.pipeline(transaction=False)
        for key, amount, ttl in increments:
            pipe.incrbyfloat(key, amount)
            pipe.expire(key, ttl)
        await pipe.execute()

    async def claim_seeding(self) -> bool:
        """True for the one process that finds Redis without counters and must seed them from the usage table.

        The marker has no TTL: it lives exactly as long as Redis keeps its data (lost together on a flush).
        """
        return bool(await self._client.set(f"{self._prefix}seeded", "1", nx=True))

    async def close(self) -> None:
        await self._client.aclose()


def _reading(buckets: Iterable[int], values: list[bytes | None]) -> Reading:
    return [(b, float(v)) for b, v in zip(buckets, values, strict=False) if v is not None and float(v)]
