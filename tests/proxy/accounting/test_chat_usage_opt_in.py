"""Streamed Chat Completions through the live gateway to a fake upstream that, like OpenAI, sends usage only when
asked: the gateway asks, records the exact figures, and the client sees what it would have seen without it."""

from __future__ import annotations

import httpx
import openai
import orjson
import pytest

from tests.proxy.conftest import ProxyEnv
from tests.support.fakes.provider_bodies import FakeUsage

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

REPLY = "Hello from the fake upstream, one word at a time."
USAGE = FakeUsage(input_tokens=500, output_tokens=80, cache_read_tokens=300, reasoning_tokens=64)
COST = (200 * 1.25 + 300 * 0.125 + 80 * 10) / 1e6  # gpt-5 prices from tests/proxy/conftest.py
ASKED = b'"stream_options":{"include_usage":true},'


def chat_client(env: ProxyEnv, key: str) -> openai.OpenAI:
    return openai.OpenAI(api_key=key, base_url=env.openai_url, max_retries=0)


def token_figures(env: ProxyEnv) -> tuple[int, int, int, int, float, bool]:
    [row] = env.usage_rows(1)
    figures = (row.input_tokens, row.output_tokens, row.cache_read_tokens, row.reasoning_tokens)
    return (*figures, round(row.cost_usd, 9), row.usage_estimated)


EXACT = (500, 80, 300, 64, round(COST, 9), False)


def test_the_sdk_default_stream_is_accounted_exactly_and_shows_no_usage(proxy_env: ProxyEnv, alice_key: str) -> None:
    proxy_env.fake.configure(usage=USAGE)

    chunks = list(
        chat_client(proxy_env, alice_key).chat.completions.create(
            model="gpt-5", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    )

    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks) == REPLY
    assert all(chunk.choices for chunk in chunks), "the usage-only chunk reached the client"
    assert all(chunk.usage is None and "usage" not in chunk.model_fields_set for chunk in chunks)
    forwarded = proxy_env.fake.last_request().json()
    assert (forwarded["model"], forwarded["stream_options"]) == ("gpt-5", {"include_usage": True})
    assert token_figures(proxy_env) == EXACT


def test_a_client_that_asks_for_usage_gets_it_and_its_body_unchanged(proxy_env: ProxyEnv, alice_key: str) -> None:
    proxy_env.fake.configure(usage=USAGE)

    chunks = list(
        chat_client(proxy_env, alice_key).chat.completions.create(
            model="gpt-5", messages=[], stream=True, stream_options={"include_usage": True}
        )
    )

    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens == 500
    assert proxy_env.fake.last_request().json()["stream_options"] == {"include_usage": True}
    assert token_figures(proxy_env) == EXACT


def raw_chat(env: ProxyEnv, key: str, body: bytes, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{env.openai_url}/chat/completions",
        headers={"authorization": f"Bearer {key}", "content-type": "application/json", **headers},
        content=body,
        timeout=30,
    )


def test_the_forwarded_body_differs_only_by_the_added_member(proxy_env: ProxyEnv, alice_key: str) -> None:
    body = b'{"model":"gpt-5", "stream": true, "messages":[{"role":"user","content":"caf\\u00e9 \xe2\x98\x95"}]}'

    response = raw_chat(proxy_env, alice_key, body)

    assert response.status_code == 200
    assert proxy_env.fake.last_request().body == b"{" + ASKED + body[1:]
    assert b'"usage"' not in response.content  # neither the usage chunk nor the `"usage":null` members
    assert response.content.endswith(b"data: [DONE]\n\n")


def test_other_stream_options_survive(proxy_env: ProxyEnv, alice_key: str) -> None:
    proxy_env.fake.configure(usage=USAGE)
    body = b'{"model":"gpt-5","stream":true,"stream_options":{"include_obfuscation":false},"messages":[]}'

    response = raw_chat(proxy_env, alice_key, body)

    assert response.status_code == 200 and b'"usage"' not in response.content
    options = proxy_env.fake.last_request().json()["stream_options"]
    assert options == {"include_obfuscation": False, "include_usage": True}
    assert token_figures(proxy_env) == EXACT


def test_repeated_keys_are_read_as_the_gateway_authorised_them(proxy_env: ProxyEnv, alice_key: str) -> None:
    """The last of repeated keys counts: the client's include_usage was taken back, so it gets no usage; the model
    that was authorised is the only one forwarded."""
    proxy_env.fake.configure(usage=USAGE)
    body = (
        b'{"model":"gpt-4.1","stream":true,"stream_options":{"include_usage":true},'
        b'"model":"gpt-5","stream_options":{"include_usage":false},"messages":[]}'
    )

    response = raw_chat(proxy_env, alice_key, body)

    assert response.status_code == 200 and b'"usage"' not in response.content
    forwarded = proxy_env.fake.last_request()
    assert forwarded.body.count(b'"model"') == 1
    assert (forwarded.json()["model"], forwarded.json()["stream_options"]) == ("gpt-5", {"include_usage": True})
    [row] = proxy_env.usage_rows(1)
    assert (row.model, row.input_tokens, row.output_tokens) == ("gpt-5", 500, 80)


def test_a_compressed_stream_is_decoded_to_hide_the_usage(proxy_env: ProxyEnv, alice_key: str) -> None:
    proxy_env.fake.configure(usage=USAGE, content_encoding="gzip", chunk_size=13)

    response = raw_chat(
        proxy_env, alice_key, b'{"model":"gpt-5","stream":true,"messages":[]}', **{"accept-encoding": "gzip"}
    )

    assert response.status_code == 200
    assert "content-encoding" not in response.headers
    assert b'"usage"' not in response.content and response.content.endswith(b"data: [DONE]\n\n")
    assert token_figures(proxy_env) == EXACT


def test_a_whole_completion_is_forwarded_as_it_is(proxy_env: ProxyEnv, alice_key: str) -> None:
    proxy_env.fake.configure(usage=USAGE)
    body = b'{"model":"gpt-5","messages":[]}'

    response = raw_chat(proxy_env, alice_key, body)

    assert orjson.loads(response.content)["usage"]["prompt_tokens"] == 500
    assert proxy_env.fake.last_request().body == body
    assert token_figures(proxy_env) == EXACT
