"""Streams that used to slip past the limits: Chat Completions streams without `include_usage` (the OpenAI SDK's
default) and streams cut before their usage report now count like any other call."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.limits.conftest import GatewayFactory
from tests.proxy.conftest import ALICE, SONNET
from tests.support.fakes.provider_bodies import FakeUsage

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# gpt-5 costs 1.25 / 10 USD per million input / output tokens (tests/proxy/conftest.py): 0.000525 USD per call.
USAGE = FakeUsage(input_tokens=100, output_tokens=40)


def test_sdk_default_chat_streams_spend_the_budget(start_gateway: GatewayFactory) -> None:
    gateway = start_gateway(default_daily_budget_usd=0.001)
    gateway.env.fake.configure(usage=USAGE)
    _, secret = gateway.new_key(ALICE)
    client = openai.OpenAI(api_key=secret, base_url=gateway.env.openai_url, max_retries=0)

    for passed in range(1, 3):
        chunks = list(client.chat.completions.create(model="gpt-5", messages=[], stream=True))
        assert chunks and all(chunk.usage is None for chunk in chunks)
        gateway.env.usage_rows(passed)

    with pytest.raises(openai.RateLimitError, match="daily spend budget of \\$0.001 exceeded"):
        list(client.chat.completions.create(model="gpt-5", messages=[], stream=True))
    assert len(gateway.env.fake.requests) == 2


def test_a_cut_stream_counts_its_estimated_output(start_gateway: GatewayFactory) -> None:
    gateway = start_gateway(default_output_token_quota=20)
    gateway.env.fake.configure(usage=USAGE, reply_text="word " * 200, drop_after_bytes=3000)
    _, secret = gateway.new_key(ALICE)
    body = {"model": SONNET, "max_tokens": 2000, "stream": True, "messages": []}
    headers = {"x-api-key": secret, "anthropic-version": "2023-06-01"}

    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(f"{gateway.env.anthropic_url}/v1/messages", headers=headers, json=body, timeout=30)
    [row] = gateway.env.usage_rows(1)
    assert row.usage_estimated and row.output_tokens > 20  # message_start said 1; the relayed text says more

    refused = httpx.post(f"{gateway.env.anthropic_url}/v1/messages", headers=headers, json=body, timeout=30)
    assert refused.status_code == 429
    assert refused.json()["error"]["message"].startswith("output token quota of 20 per 24h exceeded")
