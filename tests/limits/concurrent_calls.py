"""Calls fired all at once, as the limit-under-concurrency tests need them: 175 input tokens each (the fake
upstream reports them), with a request body that size, so the reservation's estimate is an honest one."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.proxy.conftest import SONNET
from tests.support.fakes.provider_bodies import FakeUsage

INPUT_PER_CALL = 175
# How long the fake upstream holds each call of a concurrency test: every call of the batch must start while the
# first ones still run, also on a loaded 2-core machine (at 1 s a few started after the first had finished).
HELD_SECONDS = 3.0
USAGE = FakeUsage(input_tokens=INPUT_PER_CALL, output_tokens=40)
# Sonnet costs 3 / 15 USD per million input / output tokens (tests/proxy/conftest.py).
COST_PER_CALL = (INPUT_PER_CALL * 3 + 40 * 15) / 1e6
# About 3 bytes of English per token: a prompt of 175 tokens' worth of text.
PROMPT = "Summarise the following paragraph in one sentence. " * 10


def message_body(max_tokens: int = 64) -> dict[str, object]:
    return {"model": SONNET, "max_tokens": max_tokens, "messages": [{"role": "user", "content": PROMPT}]}


def fire_at_once(anthropic_urls: list[str], secret: str, calls: int) -> list[httpx.Response]:
    """`calls` Messages calls started together, spread over `anthropic_urls` in turn."""

    def one(index: int) -> httpx.Response:
        return httpx.post(
            f"{anthropic_urls[index % len(anthropic_urls)]}/v1/messages",
            headers={"x-api-key": secret, "anthropic-version": "2023-06-01"},
            json=message_body(),
            timeout=60,
        )

    with ThreadPoolExecutor(max_workers=calls) as pool:
        return list(pool.map(one, range(calls)))


def statuses(responses: list[httpx.Response]) -> dict[int, int]:
    counted: dict[int, int] = {}
    for response in responses:
        counted[response.status_code] = counted.get(response.status_code, 0) + 1
    return counted
