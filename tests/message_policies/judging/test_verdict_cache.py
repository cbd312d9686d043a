"""The verdict cache: keys, the bounded LRU, Redis shared across caches, and Redis failures as plain misses."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from gateway_api.core.settings import Settings
from gateway_api.message_policies.judging.verdict_cache import (
    REDIS_RETRY_SECONDS,
    VerdictCache,
    open_verdict_cache,
    verdict_key,
)
from gateway_api.message_policies.rules import MessagePolicyEntry, PolicyAction, PolicyRule, PolicyScope
from gateway_api.message_policies.verdicts import JudgeVerdict
from tests.support.served import REDIS_URL

needs_redis = pytest.mark.skipif(not REDIS_URL, reason="GATEWAY_TEST_REDIS_URL is not set")

POLICY = MessagePolicyEntry(
    id=7,
    name="no-medical-advice",
    subjects=frozenset({"*"}),
    scopes=frozenset({PolicyScope.user_messages}),
    action=PolicyAction.block,
    rule=PolicyRule(judge="Block requests for a medical diagnosis."),
    revision="r1",
)
VIOLATION = JudgeVerdict(violation=True, explanation="Asks for a diagnosis.", failed=False)
COMPLIANT = JudgeVerdict(violation=False, explanation="Fine.", failed=False)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_key_changes_with_every_part() -> None:
    key = verdict_key(POLICY, PolicyScope.user_messages, "text")
    assert len(key) == 64
    assert key == verdict_key(POLICY, PolicyScope.user_messages, "text")
    others = {
        verdict_key(dataclasses.replace(POLICY, id=8), PolicyScope.user_messages, "text"),
        verdict_key(dataclasses.replace(POLICY, revision="r2"), PolicyScope.user_messages, "text"),
        verdict_key(dataclasses.replace(POLICY, rule=PolicyRule(judge="Other.")), PolicyScope.user_messages, "text"),
        verdict_key(POLICY, PolicyScope.tool_results, "text"),
        verdict_key(POLICY, PolicyScope.user_messages, "text "),
    }
    assert key not in others and len(others) == 5


def test_parts_cannot_run_into_each_other() -> None:
    # Without length prefixes, revision "r1" + text "x" and revision "r1x" + text "" could hash alike.
    joined = dataclasses.replace(POLICY, revision="r1" + "user_messages")
    assert verdict_key(POLICY, PolicyScope.user_messages, "") != verdict_key(joined, PolicyScope.user_messages, "")


@pytest.mark.asyncio
async def test_the_local_cache_keeps_the_most_recently_used() -> None:
    cache = VerdictCache(size=2)
    await cache.put("a", VIOLATION)
    await cache.put("b", COMPLIANT)
    assert cache.local("a") == VIOLATION  # a is now the most recent
    await cache.put("c", COMPLIANT)
    assert cache.local("b") is None
    assert await cache.get("a") == VIOLATION
    assert await cache.get("c") == COMPLIANT
    assert cache.local_size == 2


@pytest.mark.asyncio
async def test_failed_verdicts_are_never_cached() -> None:
    cache = VerdictCache(size=10)
    await cache.put("a", JudgeVerdict(violation=False, explanation="timed out", failed=True))
    assert await cache.get("a") is None
    assert cache.local_size == 0


@pytest.mark.asyncio
async def test_size_zero_keeps_nothing_locally() -> None:
    cache = VerdictCache(size=0)
    await cache.put("a", VIOLATION)
    assert await cache.get("a") is None


@pytest.mark.asyncio
async def test_an_unreachable_redis_is_a_miss_and_is_left_alone_for_a_while(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    cache = VerdictCache(size=10, client=aioredis.from_url("redis://127.0.0.1:1/0"), clock=clock)
    try:
        assert cache.shared
        assert await cache.get("a") is None
        await cache.put("a", VIOLATION)  # skipped for Redis, kept locally
        assert await cache.get("a") == VIOLATION
        assert await cache.get("b") is None
        warnings = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
        assert len(warnings) == 1  # one line per outage, not one per call
        clock.now += REDIS_RETRY_SECONDS + 1
        assert await cache.get("b") is None  # tried again, failed again
        assert len([r for r in caplog.records if "Redis unavailable" in r.getMessage()]) == 2
    finally:
        await cache.aclose()


@pytest.mark.asyncio
async def test_open_verdict_cache_follows_the_settings() -> None:
    local = open_verdict_cache(Settings(message_policy_cache_size=1))
    assert not local.shared
    await local.put("a", VIOLATION)
    await local.put("b", VIOLATION)
    assert local.local_size == 1
    shared = open_verdict_cache(Settings(redis_url="redis://127.0.0.1:1/0"))
    assert shared.shared
    await shared.aclose()


@pytest_asyncio.fixture
async def redis_client() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@needs_redis
@pytest.mark.asyncio
async def test_redis_shares_verdicts_across_caches_with_a_ttl(redis_client: aioredis.Redis) -> None:
    prefix = f"test:verdicts:{uuid.uuid4().hex}:"
    first = VerdictCache(size=10, client=aioredis.from_url(REDIS_URL), prefix=prefix, ttl_seconds=60)
    second = VerdictCache(size=10, client=aioredis.from_url(REDIS_URL), prefix=prefix, ttl_seconds=60)
    try:
        await first.put("k", VIOLATION)
        assert second.local("k") is None
        assert await second.get("k") == VIOLATION
        assert second.local("k") == VIOLATION  # kept locally from then on
        assert 0 < await redis_client.ttl(prefix + "k") <= 60
        await first.put("failed", JudgeVerdict(violation=True, explanation="x", failed=True))
        assert await redis_client.exists(prefix + "failed") == 0
    finally:
        await redis_client.delete(prefix + "k")
        await first.aclose()
        await second.aclose()


@needs_redis
@pytest.mark.asyncio
async def test_a_damaged_shared_value_is_a_miss(redis_client: aioredis.Redis) -> None:
    prefix = f"test:verdicts:{uuid.uuid4().hex}:"
    cache = VerdictCache(size=10, client=aioredis.from_url(REDIS_URL), prefix=prefix)
    try:
        await redis_client.set(prefix + "a", b"not json", ex=60)
        await redis_client.set(prefix + "b", b'{"violation": "yes", "explanation": "x"}', ex=60)
        await redis_client.set(prefix + "c", b'{"violation": true, "explanation": "line\\nbreak\\u001b"}', ex=60)
        assert await cache.get("a") is None
        assert await cache.get("b") is None
        assert await cache.get("c") == JudgeVerdict(violation=True, explanation="line break", failed=False)
    finally:
        await redis_client.delete(prefix + "a", prefix + "b", prefix + "c")
        await cache.aclose()
