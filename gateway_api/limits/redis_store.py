"""The shared counter store in Redis: admission as one Lua script (every check, then every addition and slot,
atomic across replicas), counts in pipelines, concurrency slots as leases in a sorted set per subject.

A slot is a member (the call's lease id) scored with its expiry time; every admission first drops the expired
ones, so the slots of a replica that crashed come back after GATEWAY_CONCURRENCY_LEASE_SECONDS. The replica holding
a slot renews it while the call runs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from gateway_api.limits.admission import Ask, Refused
from gateway_api.limits.counters import Increment, Reading, RedisCounters
from gateway_api.limits.windows import Window, keep_seconds

# KEYS: per check its keys (a window's bucket keys, or the subject's slot set), then one key per addition, then
# one slot set per slot taken. ARGV: now, check count, per check (key count, limit, 1 for slots), addition count,
# per addition (amount, ttl), slot count, lease, lease expiry, slot set ttl.
# Returns {0} when admitted, else {failing check (1-based), the values of its keys...}.
ADMIT_SCRIPT = """
local now = tonumber(ARGV[1])
local a, k = 2, 1
local checks = tonumber(ARGV[a]); a = a + 1
for i = 1, checks do
  local count, limit, slot = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), ARGV[a + 2] == '1'
  a = a + 3
  if slot then
    redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', now)
    if redis.call('ZCARD', KEYS[k]) >= limit then return {i} end
  else
    local values = redis.call('MGET', unpack(KEYS, k, k + count - 1))
    local total = 0
    for j = 1, count do
      if values[j] then total = total + tonumber(values[j]) end
    end
    if total >= limit then
      local out = {i}
      for j = 1, count do out[j + 1] = values[j] or '0' end
      return out
    end
  end
  k = k + count
end
local adds = tonumber(ARGV[a]); a = a + 1
for i = 1, adds do
  redis.call('INCRBYFLOAT', KEYS[k], ARGV[a])
  redis.call('EXPIRE', KEYS[k], ARGV[a + 1])
  k = k + 1; a = a + 2
end
local slots = tonumber(ARGV[a])
for i = 1, slots do
  redis.call('ZADD', KEYS[k], ARGV[a + 2], ARGV[a + 1])
  redis.call('EXPIRE', KEYS[k], ARGV[a + 3])
  k = k + 1
end
return {0}
"""


class RedisStore:
    """Every method raises on a Redis failure; the limiter decides (it falls back to its own process's counts)."""

    fails_closed = False
    name = "Redis"

    def __init__(self, counters: RedisCounters, lease_seconds: float) -> None:
        self.counters = counters
        self._client = counters.client
        self._admit = self._client.register_script(ADMIT_SCRIPT)
        self._slot_ttl = math.ceil(lease_seconds) + 60

    def slot_key(self, subject: str) -> str:
        return f"{self.counters.prefix}{subject}:slots"

    async def admit(self, ask: Ask, now: float) -> Refused | None:
        keys: list[str] = []
        args: list[Any] = [now, len(ask.checks)]
        bucket_lists: list[range | None] = []
        for check in ask.checks:
            if check.window is None:
                keys.append(self.slot_key(check.subject))
                args += [1, check.limit, 1]
                bucket_lists.append(None)
                continue
            buckets = check.window.buckets(now)
            keys += [self.counters.key(check.subject, check.window.metric, b) for b in buckets]
            args += [len(buckets), check.limit, 0]
            bucket_lists.append(buckets)
        args.append(len(ask.adds))
        for increment in ask.adds:
            keys.append(self.counters.key(increment.subject, increment.window.metric, increment.bucket))
            args += [increment.amount, keep_seconds(increment.window, increment.bucket, now)]
        args.append(len(ask.slots))
        for subject in ask.slots:
            keys.append(self.slot_key(subject))
        if ask.slots:
            args += [ask.lease, ask.lease_until, self._slot_ttl]
        answer = await self._admit(keys=keys, args=args)
        failed = int(answer[0])
        if not failed:
            return None
        failed_buckets = bucket_lists[failed - 1]
        reading: Reading = []
        if failed_buckets is not None:
            reading = [(b, float(v)) for b, v in zip(failed_buckets, answer[1:], strict=False) if float(v)]
        return Refused(failed - 1, reading)

    async def add(self, increments: Iterable[tuple[Increment, int]]) -> None:
        await self.counters.add(
            (self.counters.key(i.subject, i.window.metric, i.bucket), i.amount, ttl) for i, ttl in increments
        )

    async def read(self, specs: list[tuple[str, Window]], now: float) -> list[Reading]:
        readings, _ = await self.counters.read(specs, [], now)
        return readings

    async def held(self, subjects: list[str], now: float) -> list[int]:
        pipe = self._client.pipeline(transaction=False)
        for subject in subjects:
            pipe.zcount(self.slot_key(subject), f"({now}", "+inf")
        return [int(n) for n in await pipe.execute()]

    async def release(self, lease: str, subjects: Iterable[str]) -> None:
        pipe = self._client.pipeline(transaction=False)
        for subject in subjects:
            pipe.zrem(self.slot_key(subject), lease)
        await pipe.execute()

    async def renew(self, leases: Iterable[tuple[str, tuple[str, ...]]], until: float) -> None:
        pipe = self._client.pipeline(transaction=False)
        for lease, subjects in leases:
            for subject in subjects:
                pipe.zadd(self.slot_key(subject), {lease: until}, xx=True)
                pipe.expire(self.slot_key(subject), self._slot_ttl)
        await pipe.execute()

    async def claim_seeding(self) -> bool:
        return await self.counters.claim_seeding()

    async def close(self) -> None:
        await self.counters.close()
