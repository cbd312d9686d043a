"""LlmJudge verdicts shared: the cache in this process and through Redis, and identical judgements in flight."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

import pytest
import redis.asyncio as aioredis

from gateway_api.message_policies.judging.verdict_cache import VerdictCache
from gateway_api.message_policies.rules import PolicyScope
from gateway_api.message_policies.verdicts import JudgeVerdict
from tests.message_policies.judging.judge_support import POLICY, judge_rig
from tests.support.fakes.upstream import FakeUpstream
from tests.support.served import REDIS_URL

needs_redis = pytest.mark.skipif(not REDIS_URL, reason="GATEWAY_TEST_REDIS_URL is not set")
VIOLATION_REPLY = '{"violation": true, "explanation": "Asks for a diagnosis."}'
VIOLATION = JudgeVerdict(violation=True, explanation="Asks for a diagnosis.", failed=False)


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["anthropic", "openai"])
async def test_a_cached_verdict_makes_no_upstream_request(fake_upstream: FakeUpstream, kind: str) -> None:
    fake_upstream.configure(reply_text=VIOLATION_REPLY)
    async with judge_rig(fake_upstream, kind) as rig:
        history = "Do I have the flu? Fever and a cough since Monday."
        assert await rig.judge.judge(POLICY, PolicyScope.user_messages, history) == VIOLATION
        # An agent resending its history: the same text is not judged again, and costs nothing.
        for _ in range(3):
            assert await rig.judge.judge(POLICY, PolicyScope.user_messages, history) == VIOLATION
    assert len(fake_upstream.requests) == 1
    assert len(rig.rows) == 1


@pytest.mark.asyncio
async def test_an_edited_rule_or_another_scope_is_judged_afresh(fake_upstream: FakeUpstream) -> None:
    fake_upstream.configure(reply_text=VIOLATION_REPLY)
    async with judge_rig(fake_upstream) as rig:
        await rig.judge.judge(POLICY, PolicyScope.user_messages, "text")
        await rig.judge.judge(dataclasses.replace(POLICY, revision="2"), PolicyScope.user_messages, "text")
        await rig.judge.judge(POLICY, PolicyScope.tool_results, "text")
        await rig.judge.judge(POLICY, PolicyScope.user_messages, "other text")
    assert len(fake_upstream.requests) == 4


@pytest.mark.asyncio
async def test_identical_judgements_in_flight_make_one_call(fake_upstream: FakeUpstream) -> None:
    fake_upstream.configure(reply_text=VIOLATION_REPLY, headers_delay=0.3)
    async with judge_rig(fake_upstream) as rig:
        same = [rig.judge.judge(POLICY, PolicyScope.user_messages, "the same history") for _ in range(8)]
        other = rig.judge.judge(POLICY, PolicyScope.user_messages, "another history")
        verdicts = await asyncio.gather(*same, other)
        assert rig.judge.in_flight == 0
    assert verdicts == [VIOLATION] * 9
    assert len(fake_upstream.requests) == 2  # one per distinct text
    assert len(rig.rows) == 2


@pytest.mark.asyncio
async def test_a_caller_that_goes_away_does_not_cancel_the_shared_judgement(fake_upstream: FakeUpstream) -> None:
    fake_upstream.configure(reply_text=VIOLATION_REPLY, headers_delay=0.3)
    async with judge_rig(fake_upstream) as rig:
        leaving = asyncio.create_task(rig.judge.judge(POLICY, PolicyScope.user_messages, "text"))
        staying = asyncio.create_task(rig.judge.judge(POLICY, PolicyScope.user_messages, "text"))
        await asyncio.sleep(0.05)
        leaving.cancel()
        assert await staying == VIOLATION
        with pytest.raises(asyncio.CancelledError):
            await leaving
        # The judgement finished and was cached although its first caller left.
        assert rig.cache.local_size == 1
    assert len(fake_upstream.requests) == 1


@pytest.mark.asyncio
async def test_concurrent_failures_are_shared_then_retried(fake_upstream: FakeUpstream) -> None:
    fake_upstream.configure(error_status=503, headers_delay=0.2)
    async with judge_rig(fake_upstream) as rig:
        verdicts = await asyncio.gather(*(rig.judge.judge(POLICY, PolicyScope.user_messages, "t") for _ in range(4)))
        assert all(verdict.failed for verdict in verdicts)
        assert len(fake_upstream.requests) == 1
        fake_upstream.configure(error_status=None, headers_delay=0.0, reply_text=VIOLATION_REPLY)
        assert await rig.judge.judge(POLICY, PolicyScope.user_messages, "t") == VIOLATION
    assert len(fake_upstream.requests) == 2


@needs_redis
@pytest.mark.asyncio
async def test_redis_shares_verdicts_between_two_judges(fake_upstream: FakeUpstream) -> None:
    # Two replicas: each its own process cache and upstream pool, one Redis.
    prefix = f"test:judge:{uuid.uuid4().hex}:"
    first_cache = VerdictCache(100, aioredis.from_url(REDIS_URL), prefix=prefix)
    second_cache = VerdictCache(100, aioredis.from_url(REDIS_URL), prefix=prefix)
    fake_upstream.configure(reply_text=VIOLATION_REPLY)
    try:
        async with (
            judge_rig(fake_upstream, cache=first_cache) as first,
            judge_rig(fake_upstream, cache=second_cache) as second,
        ):
            assert await first.judge.judge(POLICY, PolicyScope.user_messages, "shared text") == VIOLATION
            assert await second.judge.judge(POLICY, PolicyScope.user_messages, "shared text") == VIOLATION
            assert len(fake_upstream.requests) == 1
            assert (len(first.rows), len(second.rows)) == (1, 0)
            # A text only the second replica has seen is judged there, then known to the first.
            await second.judge.judge(POLICY, PolicyScope.user_messages, "second text")
            await first.judge.judge(POLICY, PolicyScope.user_messages, "second text")
            assert len(fake_upstream.requests) == 2
    finally:
        cleanup = aioredis.from_url(REDIS_URL)
        keys = [key async for key in cleanup.scan_iter(match=prefix + "*")]
        assert len(keys) == 2
        await cleanup.delete(*keys)
        await cleanup.aclose()
        await first_cache.aclose()
        await second_cache.aclose()


@pytest.mark.asyncio
async def test_a_redis_outage_still_judges_and_caches_locally(fake_upstream: FakeUpstream) -> None:
    cache = VerdictCache(100, aioredis.from_url("redis://127.0.0.1:1/0"))
    fake_upstream.configure(reply_text=VIOLATION_REPLY)
    try:
        async with judge_rig(fake_upstream, cache=cache) as rig:
            assert await rig.judge.judge(POLICY, PolicyScope.user_messages, "text") == VIOLATION
            assert await rig.judge.judge(POLICY, PolicyScope.user_messages, "text") == VIOLATION
        assert len(fake_upstream.requests) == 1
    finally:
        await cache.aclose()


@pytest.mark.asyncio
async def test_closing_the_judge_cancels_judgements_in_flight(fake_upstream: FakeUpstream) -> None:
    fake_upstream.configure(reply_text=VIOLATION_REPLY, headers_delay=5.0)
    async with judge_rig(fake_upstream) as rig:
        waiting = asyncio.create_task(rig.judge.judge(POLICY, PolicyScope.user_messages, "text"))
        while not fake_upstream.requests:  # the fake's own wait would block this loop, which sends the request
            await asyncio.sleep(0.01)
        assert rig.judge.in_flight == 1
        await rig.judge.aclose()
        assert rig.judge.in_flight == 0
        with pytest.raises(asyncio.CancelledError):
            await waiting
    assert rig.cache.local_size == 0
