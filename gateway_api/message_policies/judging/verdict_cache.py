"""Judge verdicts remembered by policy and content, so an agent resending its history is not judged again.

Each process keeps a bounded LRU; with GATEWAY_REDIS_URL the verdicts are also shared across replicas with a TTL.
Redis is only a speed-up: any Redis error (or a slow Redis) counts as a miss or a skipped write, and Redis is then
left alone for a few seconds so an outage does not add its timeout to every judgement. Failed judgements are
never cached: the next call tries the judge again.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable

import orjson
import redis
import redis.asyncio as aioredis

from gateway_api.core.settings import Settings
from gateway_api.message_policies.judging.judge_prompt import clean_explanation
from gateway_api.message_policies.rules import MessagePolicyEntry, PolicyScope
from gateway_api.message_policies.verdicts import JudgeVerdict

log = logging.getLogger("gateway.message_policies")

REDIS_PREFIX = "gateway:policy-verdict:"
TTL_SECONDS = 24 * 3600
# A verdict lookup sits in front of a judge call of up to seconds; a Redis slower than this is not worth waiting on.
REDIS_TIMEOUT_SECONDS = 0.25
REDIS_RETRY_SECONDS = 5.0


def verdict_key(policy: MessagePolicyEntry, scope: PolicyScope, text: str) -> str:
    """sha256 of the policy (id, revision and the rule's own text), the scope and the judged text. The rule text is
    in the key so that two gateways sharing a Redis, whose policy ids and revisions may coincide, never read each
    other's verdicts for different rules. Each part is length-prefixed, so no two part lists hash alike."""
    digest = hashlib.sha256()
    for part in (str(policy.id), policy.revision, policy.rule.judge or "", scope.value, text):
        encoded = part.encode("utf-8", "surrogatepass")
        digest.update(len(encoded).to_bytes(8, "big"))
        digest.update(encoded)
    return digest.hexdigest()


class VerdictCache:
    """The LRU of this process, in front of the shared Redis one when `client` is given."""

    def __init__(
        self,
        size: int,
        client: aioredis.Redis | None = None,
        *,
        ttl_seconds: int = TTL_SECONDS,
        prefix: str = REDIS_PREFIX,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._size = size
        self._local: OrderedDict[str, JudgeVerdict] = OrderedDict()
        self._client = client
        self._ttl_seconds = ttl_seconds
        self._prefix = prefix
        self._clock = clock
        self._redis_resumes_at = 0.0  # while the clock is before this, Redis is skipped (it just failed)

    @property
    def shared(self) -> bool:
        return self._client is not None

    @property
    def local_size(self) -> int:
        # A property rather than __len__: an empty cache must not be falsy where `cache or default` is written.
        return len(self._local)

    def local(self, key: str) -> JudgeVerdict | None:
        """This process's verdict for `key`, without awaiting anything."""
        verdict = self._local.get(key)
        if verdict is not None:
            self._local.move_to_end(key)
        return verdict

    async def get(self, key: str) -> JudgeVerdict | None:
        """The local verdict, else the shared one (kept locally from then on), else None."""
        verdict = self.local(key)
        if verdict is not None or not self._redis_usable():
            return verdict
        try:
            raw = await self._redis_get(key)
        except (redis.RedisError, OSError, TimeoutError) as exc:
            self._redis_failed(exc)
            return None
        verdict = _decode(raw) if raw is not None else None
        if verdict is not None:
            self._remember(key, verdict)
        return verdict

    async def put(self, key: str, verdict: JudgeVerdict) -> None:
        """Remember a verdict here and in Redis; a failed one is ignored."""
        if verdict.failed:
            return
        self._remember(key, verdict)
        if not self._redis_usable():
            return
        value = orjson.dumps({"violation": verdict.violation, "explanation": verdict.explanation})
        try:
            await self._redis_set(key, value)
        except (redis.RedisError, OSError, TimeoutError) as exc:
            self._redis_failed(exc)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    def _remember(self, key: str, verdict: JudgeVerdict) -> None:
        if self._size <= 0:
            return
        self._local[key] = verdict
        self._local.move_to_end(key)
        while len(self._local) > self._size:
            self._local.popitem(last=False)

    def _redis_usable(self) -> bool:
        return self._client is not None and self._clock() >= self._redis_resumes_at

    # The deadlines cover a Redis that accepts the connection and then stalls.
    async def _redis_get(self, key: str) -> bytes | None:
        assert self._client is not None  # _redis_usable() said so
        async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
            raw = await self._client.get(self._prefix + key)
        return raw if isinstance(raw, bytes) else None

    async def _redis_set(self, key: str, value: bytes) -> None:
        assert self._client is not None  # _redis_usable() said so
        async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
            await self._client.set(self._prefix + key, value, ex=self._ttl_seconds)

    def _redis_failed(self, exc: BaseException) -> None:
        if self._clock() >= self._redis_resumes_at:
            log.warning("verdict cache: Redis unavailable, using this process's cache: %s", exc.__class__.__name__)
        self._redis_resumes_at = self._clock() + REDIS_RETRY_SECONDS


def _decode(raw: bytes) -> JudgeVerdict | None:
    """A shared verdict as written by `put`; anything else (another writer, a damaged value) is a miss."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(document, dict):
        return None
    violation, explanation = document.get("violation"), document.get("explanation")
    if type(violation) is not bool or not isinstance(explanation, str):
        return None
    return JudgeVerdict(violation=violation, explanation=clean_explanation(explanation), failed=False)


def open_verdict_cache(settings: Settings) -> VerdictCache:
    """The process's verdict cache: GATEWAY_MESSAGE_POLICY_CACHE_SIZE locally, shared through GATEWAY_REDIS_URL when
    set (closed with `aclose` in the lifespan)."""
    client = None
    if settings.redis_url:
        client = aioredis.from_url(
            settings.redis_url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
        )
    return VerdictCache(settings.message_policy_cache_size, client)
