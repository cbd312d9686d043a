"""An LlmJudge wired to the fake upstream (real loopback HTTP through the proxy's UpstreamClient), and its rows."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import orjson

from gateway_api.catalog.snapshot import ModelEntry, ProviderEntry
from gateway_api.core.settings import Settings
from gateway_api.message_policies.judging.judge import LlmJudge
from gateway_api.message_policies.judging.verdict_cache import VerdictCache
from gateway_api.message_policies.rules import MessagePolicyEntry, PolicyAction, PolicyRule, PolicyScope
from gateway_api.proxy.upstream import UpstreamClient
from gateway_api.usage.rows import UsageRow
from tests.support.fakes.upstream import FakeUpstream

CREDENTIALS = {"anthropic": "sk-ant-judge-credential", "openai": "sk-openai-judge-credential"}
JUDGE_MODELS = {"anthropic": "claude-haiku-4-5", "openai": "gpt-4.1-mini"}
RULE = "Block requests for a medical diagnosis or for treatment advice."

POLICY = MessagePolicyEntry(
    id=3,
    name="no-medical-advice",
    subjects=frozenset({"group:support"}),
    scopes=frozenset({PolicyScope.user_messages}),
    action=PolicyAction.block,
    rule=PolicyRule(judge=RULE),
    revision="1",
)


def verdict_text(violation: bool, explanation: str) -> str:
    return orjson.dumps({"violation": violation, "explanation": explanation}).decode()


def judge_model(upstream: FakeUpstream, kind: str, **prices: float | None) -> ModelEntry:
    base_url = upstream.anthropic_base_url if kind == "anthropic" else upstream.openai_base_url
    provider = ProviderEntry(id=1, name=f"{kind}-main", kind=kind, base_url=base_url, credential=CREDENTIALS[kind])
    return ModelEntry(
        id=11,
        name=JUDGE_MODELS[kind],
        display_name=JUDGE_MODELS[kind],
        active=True,
        provider=provider,
        created_at=datetime.now(UTC),
        price_input=prices.get("price_input", 1.0),
        price_output=prices.get("price_output", 5.0),
        price_cache_read=prices.get("price_cache_read", 0.1),
        price_cache_write=prices.get("price_cache_write", 1.25),
    )


class JudgeRig:
    """An LlmJudge, the judge model its callable returns (a test may change it) and the usage rows it recorded."""

    def __init__(
        self,
        client: UpstreamClient,
        model: ModelEntry | None,
        cache: VerdictCache,
        timeout: float,
        sink: Callable[[UsageRow], None] | None,
    ) -> None:
        self.model = model
        self.rows: list[UsageRow] = []
        self.cache = cache
        self.judge = LlmJudge(lambda: self.model, client, cache, timeout, sink or self.rows.append)

    def replace_model(self, **changes: object) -> None:
        assert self.model is not None
        self.model = dataclasses.replace(self.model, **changes)  # type: ignore[arg-type]


@asynccontextmanager
async def judge_rig(
    upstream: FakeUpstream,
    kind: str = "anthropic",
    *,
    timeout: float = 5.0,
    cache: VerdictCache | None = None,
    model: ModelEntry | None = None,
    no_model: bool = False,
    sink: Callable[[UsageRow], None] | None = None,
) -> AsyncIterator[JudgeRig]:
    client = UpstreamClient(Settings())
    await client.start()
    chosen = None if no_model else model or judge_model(upstream, kind)
    try:
        yield JudgeRig(client, chosen, cache if cache is not None else VerdictCache(100), timeout, sink)
    finally:
        await client.close()
