"""Exact usage rows for what passes through the proxy, and for each way a call can end."""

from __future__ import annotations

import socket
import time

import httpx
import pytest
from sqlmodel import select

from gateway_api.db.config_version import bump_config_version
from gateway_api.db.engine import session_scope
from gateway_api.db.models import Outcome, Provider, UsageRecord
from gateway_api.providers.credential_binding import origin_of
from tests.proxy.conftest import SONNET, ProxyEnv
from tests.support.fakes.provider_bodies import FakeUsage

REPLY = "Hello from the fake upstream, one word at a time."
ANTHROPIC_HEADERS = {"anthropic-version": "2023-06-01", "user-agent": "claude-cli/2.1.197 (external, sdk-cli)"}
CACHED_ANTHROPIC = FakeUsage(input_tokens=10, output_tokens=40, cache_read_tokens=1000, cache_write_tokens=200)
CACHED_OPENAI = FakeUsage(input_tokens=500, output_tokens=80, cache_read_tokens=300, reasoning_tokens=64)
# Prices from conftest: Sonnet 3 / 15 / 0.3 / 3.75, gpt-5 1.25 / 10 / 0.125 (USD per million tokens).
CACHED_ANTHROPIC_COST = (10 * 3 + 1000 * 0.3 + 200 * 3.75 + 40 * 15) / 1e6
CACHED_OPENAI_COST = (200 * 1.25 + 300 * 0.125 + 80 * 10) / 1e6


def messages(env: ProxyEnv, key: str, *, stream: bool, timeout: float = 30, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{env.anthropic_url}/v1/messages?beta=true",
        headers={"x-api-key": key, **ANTHROPIC_HEADERS, **headers},
        json={"model": SONNET, "max_tokens": 64, "stream": stream, "messages": [{"role": "user", "content": "hi"}]},
        timeout=timeout,
    )


def responses(env: ProxyEnv, key: str, *, stream: bool, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{env.openai_url}/responses",
        headers={"authorization": f"Bearer {key}", "user-agent": "codex_exec/0.171.0", **headers},
        json={"model": "gpt-5", "input": "hi", "stream": stream},
        timeout=30,
    )


def token_figures(row: UsageRecord) -> tuple[int, int, int, int, int]:
    return row.input_tokens, row.output_tokens, row.cache_read_tokens, row.cache_write_tokens, row.reasoning_tokens


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
def test_anthropic_usage_row_is_exact(proxy_env: ProxyEnv, alice_key: str, stream: bool) -> None:
    # Odd 7-byte pieces split every SSE line across reads; pretty JSON spreads the whole body over many lines.
    proxy_env.fake.configure(usage=CACHED_ANTHROPIC, chunk_size=7, pretty_json=True, malformed_sse=True)

    response = messages(proxy_env, alice_key, stream=stream, **{"x-claude-code-session-id": "sess-123"})

    assert response.status_code == 200
    [row] = proxy_env.usage_rows(1)
    assert token_figures(row) == (1210, 40, 1000, 200, 0)  # input = uncached + cache read + cache write
    assert row.cost_usd == pytest.approx(CACHED_ANTHROPIC_COST)
    assert (row.provider, row.provider_kind, row.model, row.endpoint) == ("anthropic", "anthropic", SONNET, "messages")
    assert (row.streamed, row.status_code, row.outcome) == (stream, 200, Outcome.ok)
    assert (row.client, row.session_id) == (ANTHROPIC_HEADERS["user-agent"], "sess-123")
    assert row.request_id == response.headers["request-id"]
    assert row.ttfb_ms is not None and 0 < row.ttfb_ms <= row.latency_ms
    assert row.user_id is not None and row.api_key_id is not None


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
def test_openai_responses_usage_row_is_exact(proxy_env: ProxyEnv, alice_key: str, stream: bool) -> None:
    proxy_env.fake.configure(usage=CACHED_OPENAI, chunk_size=5)

    response = responses(proxy_env, alice_key, stream=stream, **{"session-id": "codex-session-9"})

    assert response.status_code == 200
    [row] = proxy_env.usage_rows(1)
    assert token_figures(row) == (500, 80, 300, 0, 64)
    assert row.cost_usd == pytest.approx(CACHED_OPENAI_COST)
    assert (row.endpoint, row.streamed, row.session_id, row.outcome) == ("responses", stream, "codex-session-9", "ok")
    assert row.request_id == response.headers["x-request-id"]


def test_chat_completions_usage_on_the_last_content_chunk(proxy_env: ProxyEnv, alice_key: str) -> None:
    proxy_env.fake.configure(usage=CACHED_OPENAI, usage_on_last_content_chunk=True)

    response = httpx.post(
        f"{proxy_env.openai_url}/chat/completions",
        headers={"authorization": f"Bearer {alice_key}"},
        json={"model": "gpt-5", "stream": True, "stream_options": {"include_usage": True}, "messages": []},
        timeout=30,
    )

    assert response.status_code == 200
    [row] = proxy_env.usage_rows(1)
    assert token_figures(row) == (500, 80, 300, 0, 64)
    assert row.endpoint == "chat_completions"


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
@pytest.mark.parametrize("client_accepts", [True, False], ids=["client-accepts", "client-refuses"])
def test_compressed_upstream_bodies(proxy_env: ProxyEnv, alice_key: str, coding: str, client_accepts: bool) -> None:
    """An upstream that compresses although asked for identity: usage is still exact, and the client only gets
    the coding back if it listed it; otherwise the gateway decodes."""
    proxy_env.fake.configure(usage=CACHED_ANTHROPIC, content_encoding=coding, chunk_size=11)
    accept = f"{coding}, identity" if client_accepts else "identity"

    streamed = messages(proxy_env, alice_key, stream=True, **{"accept-encoding": accept})
    whole = responses(proxy_env, alice_key, stream=False, **{"accept-encoding": accept})

    for response in (streamed, whole):
        assert response.status_code == 200
        assert response.headers.get("content-encoding") == (coding if client_accepts else None)
    # httpx decodes whatever coding it was given: the decoded body must be the upstream's whole reply.
    assert streamed.text.endswith('data: {"type":"message_stop"}\n\n')
    assert whole.json()["output"][1]["content"][0]["text"] == REPLY
    anthropic_row, openai_row = proxy_env.usage_rows(2)
    assert token_figures(anthropic_row) == (1210, 40, 1000, 200, 0)
    assert token_figures(openai_row) == (10, 40, 1000, 0, 0)


def test_client_disconnect_mid_stream_cancels_the_upstream(proxy_env: ProxyEnv, alice_key: str) -> None:
    proxy_env.fake.configure(chunk_delay=0.1)  # ~18 events: about 2 s for the whole stream
    request = {"model": SONNET, "max_tokens": 64, "stream": True, "messages": []}

    with httpx.stream(
        "POST", f"{proxy_env.anthropic_url}/v1/messages", headers={"x-api-key": alice_key}, json=request
    ) as response:
        first = next(response.iter_raw())
    assert b"message_start" in first

    [row] = proxy_env.usage_rows(1)
    assert (row.outcome, row.status_code, row.streamed) == (Outcome.client_closed, 200, True)
    assert row.input_tokens == 25  # message_start had arrived; partial usage is kept
    time.sleep(2.5)  # longer than the whole stream would take
    assert proxy_env.fake.last_request().completed is False, "the upstream stream ran on after the client left"


def test_client_leaving_before_the_upstream_answers(proxy_env: ProxyEnv, alice_key: str) -> None:
    proxy_env.fake.configure(headers_delay=3.0)
    host, port = proxy_env.live.url.removeprefix("http://").split(":")
    body = b'{"model":"%s","max_tokens":8,"stream":true,"messages":[]}' % SONNET.encode()
    head = f"POST /api/llm-proxy/anthropic/v1/messages HTTP/1.1\r\nHost: gw\r\nx-api-key: {alice_key}\r\n"
    head += f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"

    with socket.create_connection((host, int(port))) as connection:
        connection.sendall(head.encode() + body)
        proxy_env.fake.wait_for_requests(1)  # the upstream is working on it; now the client leaves

    [row] = proxy_env.usage_rows(1)
    assert (row.outcome, row.status_code, row.input_tokens, row.ttfb_ms) == (Outcome.client_closed, 499, 0, None)
    time.sleep(3.0)
    assert proxy_env.fake.last_request().completed is False, "the upstream call was not cancelled"


def test_upstream_error_is_relayed_verbatim_and_recorded(proxy_env: ProxyEnv, alice_key: str) -> None:
    body = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
    proxy_env.fake.configure(error_status=529, error_body=body, error_headers={"retry-after": "3"})

    response = messages(proxy_env, alice_key, stream=True)

    assert (response.status_code, response.content, response.headers["retry-after"]) == (529, body, "3")
    [row] = proxy_env.usage_rows(1)
    assert (row.status_code, row.outcome, row.input_tokens, row.cost_usd) == (529, Outcome.upstream_error, 0, 0)


def test_upstream_dropping_the_connection_mid_stream(proxy_env: ProxyEnv, alice_key: str) -> None:
    proxy_env.fake.configure(drop_after_bytes=900)

    with pytest.raises(httpx.RemoteProtocolError):  # the client sees the stream break, not a clean end
        messages(proxy_env, alice_key, stream=True)

    [row] = proxy_env.usage_rows(1)
    assert (row.status_code, row.outcome, row.input_tokens) == (200, Outcome.upstream_error, 25)


def _point_provider_at(env: ProxyEnv, name: str, base_url: str) -> None:
    with session_scope(env.engine) as session:
        provider = session.exec(select(Provider).where(Provider.name == name)).one()
        provider.base_url = base_url
        provider.credential_origin = origin_of(base_url)  # moved with its key (credentials are bound to a host)
        session.add(provider)
        bump_config_version(session)
    env.services.catalog.reload()


def test_upstream_down_is_a_502_in_the_envelope(proxy_env: ProxyEnv, alice_key: str) -> None:
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    _point_provider_at(proxy_env, "openai", f"http://127.0.0.1:{port}/v1")

    response = responses(proxy_env, alice_key, stream=True)

    assert response.status_code == 502
    assert response.json()["error"]["type"] == "server_error"
    [row] = proxy_env.usage_rows(1)
    assert (row.status_code, row.outcome, row.model) == (502, Outcome.gateway_error, "gpt-5")


def test_upstream_first_byte_timeout_is_a_504(proxy_env: ProxyEnv, alice_key: str) -> None:
    proxy_env.services.settings.upstream_first_byte_timeout = 0.3
    proxy_env.fake.configure(headers_delay=2.0)

    response = messages(proxy_env, alice_key, stream=False)

    assert response.status_code == 504
    assert response.json()["error"]["type"] == "api_error"
    [row] = proxy_env.usage_rows(1)
    assert (row.status_code, row.outcome) == (504, Outcome.gateway_error)


def test_upstream_idle_mid_stream_closes_the_client_connection(proxy_env: ProxyEnv, alice_key: str) -> None:
    proxy_env.services.settings.upstream_idle_timeout = 0.3
    proxy_env.fake.configure(chunk_delay=1.0)

    with pytest.raises(httpx.RemoteProtocolError):
        messages(proxy_env, alice_key, stream=True)

    [row] = proxy_env.usage_rows(1)
    assert (row.status_code, row.outcome, row.input_tokens) == (200, Outcome.gateway_error, 25)
