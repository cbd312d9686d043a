"""Streams cut before the provider's closing usage report, by the upstream (the fake closes the connection
mid-stream) or by the client (it closes its socket after a few deltas): the row keeps what the provider told,
estimates the rest (cut_usage.py), is flagged `usage_estimated`, and never has 0 output once text was relayed."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from gateway_api.db.models import Outcome, UsageRecord
from gateway_api.usage.estimates import tokens_for_bytes
from tests.proxy.conftest import SONNET, ProxyEnv
from tests.support.fakes import provider_bodies as bodies
from tests.support.fakes.provider_bodies import FakeUsage, text_pieces

REPLY = " ".join(f'word{number} "quoted"' for number in range(40))
USAGE = FakeUsage(input_tokens=10, output_tokens=400, cache_read_tokens=1000, cache_write_tokens=200)
KNOWN_ANTHROPIC_INPUT = 1210  # message_start's input + cache read + cache write


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    body: dict
    delta_marker: bytes  # in every event that carries generated text

    def url(self, env: ProxyEnv) -> str:
        base = env.anthropic_url + "/v1" if self.name == "messages" else env.openai_url
        return base + self.path

    def events(self) -> list[bytes]:
        """The fake's stream for this endpoint (ids have a fixed length, so its byte offsets are the fake's)."""
        if self.name == "messages":
            return bodies.anthropic_stream(SONNET, REPLY, USAGE)
        if self.name == "responses":
            return bodies.openai_response_stream("gpt-5", REPLY, USAGE)
        return bodies.chat_completion_stream("gpt-5", REPLY, USAGE, include_usage=True)

    def offset_after_deltas(self, count: int) -> int:
        events = self.events()
        first = next(index for index, event in enumerate(events) if self.delta_marker in event)
        if self.name == "chat_completions":
            first += 1  # the role chunk says "delta" too
        return len(b"".join(events[: first + count]))


ENDPOINTS = [
    Endpoint(
        "messages",
        "/messages",
        {"model": SONNET, "max_tokens": 2000, "stream": True, "messages": [{"role": "user", "content": "hi " * 300}]},
        b"text_delta",
    ),
    Endpoint("responses", "/responses", {"model": "gpt-5", "input": "hi " * 300, "stream": True}, b'"delta":"'),
    Endpoint(
        "chat_completions",
        "/chat/completions",
        {"model": "gpt-5", "stream": True, "messages": [{"role": "user", "content": "hi " * 300}]},
        b'"delta":{',
    ),
]


def escaped_text_bytes(count: int) -> int:
    return sum(len(piece.replace('"', '\\"')) for piece in text_pieces(REPLY)[:count])


def headers(endpoint: Endpoint, key: str) -> dict[str, str]:
    if endpoint.name == "messages":
        return {"x-api-key": key, "anthropic-version": "2023-06-01"}
    return {"authorization": f"Bearer {key}"}


def expected_input(endpoint: Endpoint, env: ProxyEnv) -> int:
    if endpoint.name == "messages":
        return KNOWN_ANTHROPIC_INPUT
    return tokens_for_bytes(len(env.fake.last_request().body))  # never told: estimated from the forwarded body


def assert_estimated(row: UsageRecord, endpoint: Endpoint, env: ProxyEnv) -> None:
    assert row.usage_estimated is True
    assert row.input_tokens == expected_input(endpoint, env)
    if endpoint.name == "messages":
        assert (row.cache_read_tokens, row.cache_write_tokens) == (1000, 200)
    assert row.cost_usd > 0  # counts against spend budgets like any row


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda endpoint: endpoint.name)
def test_upstream_breaking_off_mid_stream(proxy_env: ProxyEnv, alice_key: str, endpoint: Endpoint) -> None:
    deltas = 7
    proxy_env.fake.configure(usage=USAGE, reply_text=REPLY, drop_after_bytes=endpoint.offset_after_deltas(deltas))

    received = bytearray()
    request = httpx.stream(
        "POST", endpoint.url(proxy_env), headers=headers(endpoint, alice_key), json=endpoint.body, timeout=30
    )
    # The client sees the stream break, not a clean end.
    with pytest.raises(httpx.RemoteProtocolError), request as response:
        for piece in response.iter_raw():
            received += piece

    assert received.count(endpoint.delta_marker) >= deltas
    [row] = proxy_env.usage_rows(1)
    assert (row.status_code, row.outcome, row.streamed) == (200, Outcome.upstream_error, True)
    assert_estimated(row, endpoint, proxy_env)
    assert row.output_tokens == tokens_for_bytes(escaped_text_bytes(deltas))  # exactly the text relayed


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda endpoint: endpoint.name)
def test_client_leaving_after_a_few_deltas(proxy_env: ProxyEnv, alice_key: str, endpoint: Endpoint) -> None:
    proxy_env.fake.configure(usage=USAGE, reply_text=REPLY, chunk_delay=0.03)  # ~50 events: about 1.5 s

    seen = bytearray()
    with httpx.stream(
        "POST", endpoint.url(proxy_env), headers=headers(endpoint, alice_key), json=endpoint.body, timeout=30
    ) as response:
        for piece in response.iter_raw():
            seen += piece
            if seen.count(endpoint.delta_marker) >= 6:
                break  # closes the connection with the stream half read

    [row] = proxy_env.usage_rows(1)
    assert (row.status_code, row.outcome) == (200, Outcome.client_closed)
    assert_estimated(row, endpoint, proxy_env)
    # At least what the client saw (the gateway may have relayed a little more before it noticed), never all of it.
    assert tokens_for_bytes(escaped_text_bytes(4)) <= row.output_tokens < tokens_for_bytes(escaped_text_bytes(40))


def test_a_whole_stream_is_exact_and_not_estimated(proxy_env: ProxyEnv, alice_key: str) -> None:
    proxy_env.fake.configure(usage=USAGE, reply_text=REPLY)
    endpoint = ENDPOINTS[0]

    response = httpx.post(endpoint.url(proxy_env), headers=headers(endpoint, alice_key), json=endpoint.body, timeout=30)

    assert response.status_code == 200
    [row] = proxy_env.usage_rows(1)
    assert (row.input_tokens, row.output_tokens, row.usage_estimated) == (KNOWN_ANTHROPIC_INPUT, 400, False)
