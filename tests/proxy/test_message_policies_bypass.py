"""No body shape, encoding or header skips message policies, through a live gateway with raw HTTP bodies (exactly
the shapes clients send): every place user-authored text can sit is blocked and redacted alike, JSON escapes and
duplicate keys are read as the upstream reads them (what is forwarded is what was checked), content the gateway
cannot read follows the policy's on_unreadable choice, and no client header or user agent turns policies off."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from gateway_api.core.settings import Settings
from tests.proxy.conftest import SONNET, ProxyEnv
from tests.proxy.policy_env import policy_env
from tests.support.fakes.upstream import FakeUpstream

POLICIES = [
    {
        "name": "block-user",
        "subjects": ["*"],
        "scope": ["user_messages"],
        "action": "block",
        "rule": {"pattern": "forbidden-word"},
    },
    {
        "name": "no-cloud-keys",
        "subjects": ["*"],
        "scope": ["user_messages", "tool_results"],
        "action": "redact",
        "rule": {"pattern": "AKIA[0-9A-Z]{16}"},
        "on_unreadable": "allow",
    },
]
CLOUD_KEY = "AKIAABCDEFGHIJKLMNOP"
REDACTED = "[REDACTED:no-cloud-keys]"

Shape = Callable[[str], tuple[str, dict[str, Any]]]  # text -> (endpoint, body)
_ASK = {"role": "user", "content": "hello"}
SHAPES: dict[str, Shape] = {
    "responses-input-string": lambda t: ("responses", {"model": "gpt-5", "input": t}),
    "responses-input-message": lambda t: ("responses", {"model": "gpt-5", "input": [{"role": "user", "content": t}]}),
    "responses-input-parts": lambda t: (
        "responses",
        {
            "model": "gpt-5",
            "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": t}]}],
        },
    ),
    "responses-instructions": lambda t: ("responses", {"model": "gpt-5", "instructions": t, "input": "hello"}),
    "responses-developer-item": lambda t: (
        "responses",
        {"model": "gpt-5", "input": [{"role": "developer", "content": t}, _ASK]},
    ),
    "responses-system-item": lambda t: (
        "responses",
        {"model": "gpt-5", "input": [{"role": "system", "content": t}, _ASK]},
    ),
    "chat-content-string": lambda t: ("chat", {"model": "gpt-5", "messages": [{"role": "user", "content": t}]}),
    "chat-content-parts": lambda t: (
        "chat",
        {"model": "gpt-5", "messages": [{"role": "user", "content": [{"type": "text", "text": t}]}]},
    ),
    "chat-system": lambda t: ("chat", {"model": "gpt-5", "messages": [{"role": "system", "content": t}, _ASK]}),
    "chat-developer": lambda t: ("chat", {"model": "gpt-5", "messages": [{"role": "developer", "content": t}, _ASK]}),
    "messages-content-string": lambda t: (
        "messages",
        {"model": SONNET, "max_tokens": 50, "messages": [{"role": "user", "content": t}]},
    ),
    "messages-content-blocks": lambda t: (
        "messages",
        {"model": SONNET, "max_tokens": 50, "messages": [{"role": "user", "content": [{"type": "text", "text": t}]}]},
    ),
    "messages-system-string": lambda t: (
        "messages",
        {"model": SONNET, "max_tokens": 50, "system": t, "messages": [_ASK]},
    ),
    "messages-system-blocks": lambda t: (
        "messages",
        {"model": SONNET, "max_tokens": 50, "system": [{"type": "text", "text": t}], "messages": [_ASK]},
    ),
}


@pytest.fixture
def env(settings: Settings, fake_upstream: FakeUpstream, tmp_path: Path) -> Iterator[ProxyEnv]:
    yield from policy_env(settings, fake_upstream, tmp_path, POLICIES)


def _post(env: ProxyEnv, endpoint: str, body: bytes, key: str, headers: dict[str, str] | None = None) -> httpx.Response:
    if endpoint == "messages":
        url = f"{env.anthropic_url}/v1/messages"
        sent = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    else:
        url = f"{env.openai_url}/{'chat/completions' if endpoint == 'chat' else 'responses'}"
        sent = {"authorization": f"Bearer {key}"}
    sent |= {"content-type": "application/json"} | (headers or {})
    return httpx.post(url, content=body, headers=sent, timeout=30)


def _forwarded(env: ProxyEnv) -> str:
    (request,) = env.fake.requests
    return request.body.decode()


@pytest.mark.parametrize("shape", SHAPES)
def test_every_place_of_user_text_is_blocked(env: ProxyEnv, shape: str) -> None:
    endpoint, body = SHAPES[shape]("please say the forbidden-word")

    response = _post(env, endpoint, orjson.dumps(body), env.issue_key())

    assert response.status_code == 200
    assert response.headers["x-gateway-policy-violation"] == "block-user"
    assert 'message policy \\"block-user\\"' in response.text  # JSON-escaped quotes
    assert env.fake.requests == []
    env.refused_rows(1)


@pytest.mark.parametrize("shape", SHAPES)
def test_every_place_of_user_text_is_redacted(env: ProxyEnv, shape: str) -> None:
    endpoint, body = SHAPES[shape](f"my key {CLOUD_KEY} here")

    response = _post(env, endpoint, orjson.dumps(body), env.issue_key())

    assert response.status_code == 200, response.text
    sent = _forwarded(env)
    assert CLOUD_KEY not in sent and f"my key {REDACTED} here" in sent


@pytest.mark.parametrize(
    ("escaped", "expect_block"),
    [("\\u0066orbidden-word", True), ("\\u0041KIAABCDEFGHIJKLMNOP", False), ("AKIA\\u0041BCDEFGHIJKLMNOP", False)],
)
def test_json_unicode_escapes_are_read_as_the_upstream_reads_them(
    env: ProxyEnv, escaped: str, expect_block: bool
) -> None:
    body = b'{"model":"gpt-5","messages":[{"role":"user","content":"x ' + escaped.encode() + b' y"}]}'

    response = _post(env, "chat", body, env.issue_key())

    assert response.status_code == 200
    if expect_block:
        assert response.headers["x-gateway-policy-violation"] == "block-user"
        assert env.fake.requests == []
    else:
        sent = env.fake.last_request().json()
        assert sent["messages"][0]["content"] == f"x {REDACTED} y"


@pytest.mark.parametrize(
    ("body", "blocked"),
    [
        # The providers' parsers keep the last of repeated keys: so does the gateway, and it forwards only that.
        (b'{"model":"gpt-5","messages":[{"role":"user","content":"hello","content":"the forbidden-word"}]}', True),
        (b'{"model":"gpt-5","messages":[{"role":"user","content":"the forbidden-word","content":"hello"}]}', False),
        (b'{"model":"gpt-5","messages":[{"role":"user","content":"the forbidden-word"}],"messages":[]}', False),
        (b'{"model":"gpt-5","messages":[],"messages":[{"role":"user","content":"the forbidden-word"}]}', True),
    ],
)
def test_duplicate_keys_forward_exactly_what_was_checked(env: ProxyEnv, body: bytes, blocked: bool) -> None:
    response = _post(env, "chat", body, env.issue_key())

    assert response.status_code == 200
    if blocked:
        assert response.headers["x-gateway-policy-violation"] == "block-user"
        assert env.fake.requests == []
    else:
        sent = _forwarded(env)
        assert "forbidden-word" not in sent
        assert sent.count('"content"') <= 1 and sent.count('"messages"') == 1


def test_a_repeated_model_key_is_checked_and_forwarded_as_the_last_one(env: ProxyEnv) -> None:
    # Alice may use gpt-* models, not o4-mini: a first `model` the grant allows cannot carry a last one it does not.
    body = b'{"model":"gpt-5","messages":[{"role":"user","content":"hello"}],"model":"o4-mini"}'

    response = _post(env, "chat", body, env.issue_key())

    assert response.status_code == 403
    assert env.fake.requests == []


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        (
            "messages",
            {"model": SONNET, "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "hologram"}]}]},
        ),
        ("chat", {"model": "gpt-5", "messages": [{"role": "user", "content": [{"type": "hologram", "data": "x"}]}]}),
        ("responses", {"model": "gpt-5", "input": [{"type": "hologram", "data": "x"}]}),
        ("responses", {"model": "gpt-5", "input": [{"role": "user", "content": [{"type": "input_hologram"}]}]}),
        ("chat", {"model": "gpt-5", "messages": [{"role": "user", "content": {"text": "an object"}}]}),
    ],
)
def test_unreadable_user_content_follows_on_unreadable_block(
    env: ProxyEnv, endpoint: str, body: dict[str, Any]
) -> None:
    response = _post(env, endpoint, orjson.dumps(body), env.issue_key())

    assert response.status_code == 200
    assert response.headers["x-gateway-policy-violation"] == "block-user"
    assert "cannot inspect" in response.text
    assert env.fake.requests == []


def test_unreadable_tool_output_follows_on_unreadable_allow(env: ProxyEnv) -> None:
    # Only no-cloud-keys reads tool results, and it allows what it cannot read: forwarded, with no violation.
    use = {"type": "tool_use", "id": "toolu_1", "name": "scan", "input": {}}
    result = {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "hologram", "data": "x"}]}
    messages = [_ASK, {"role": "assistant", "content": [use]}, {"role": "user", "content": [result]}]
    body = {"model": SONNET, "max_tokens": 5, "messages": messages}

    response = _post(env, "messages", orjson.dumps(body), env.issue_key())

    assert response.status_code == 200
    assert "x-gateway-policy-violation" not in response.headers
    assert orjson.loads(_forwarded(env)) == body
    env.usage_rows(1)


@pytest.mark.parametrize(
    "headers",
    [
        {"user-agent": "claude-cli/2.0.14 (external, cli)", "x-app": "cli"},
        {"user-agent": "codex_cli_rs/0.46.0 (Mac OS 15.0.1; arm64)", "originator": "codex_cli_rs"},
        {"x-gateway-skip-policies": "true", "x-message-policy": "off", "x-gateway-policy-bypass": "1"},
        {"x-thread-title": "true", "x-request-type": "thread-title", "x-obot-message-policy": "skip"},
    ],
    ids=["claude-code", "codex", "skip-headers", "title-request"],
)
def test_no_client_header_or_user_agent_skips_policies(env: ProxyEnv, headers: dict[str, str]) -> None:
    _, body = SHAPES["chat-content-string"]("the forbidden-word")

    response = _post(env, "chat", orjson.dumps(body), env.issue_key(), headers)

    assert response.headers["x-gateway-policy-violation"] == "block-user"
    assert env.fake.requests == []


def test_a_body_over_one_mebibyte_is_checked_too(env: ProxyEnv) -> None:
    filler = "lorem ipsum " * 120_000  # about 1.4 MB: the large-body path
    body = {"model": "gpt-5", "messages": [{"role": "user", "content": f"{filler} then {CLOUD_KEY}"}]}

    response = _post(env, "chat", orjson.dumps(body), env.issue_key())

    assert response.status_code == 200
    sent = _forwarded(env)
    assert CLOUD_KEY not in sent and f"then {REDACTED}" in sent
    blocked = {"model": "gpt-5", "messages": [{"role": "user", "content": f"{filler} forbidden-word"}]}
    response = _post(env, "chat", orjson.dumps(blocked), env.issue_key())
    assert response.headers["x-gateway-policy-violation"] == "block-user"
    assert len(env.fake.requests) == 1


def test_a_compressed_request_body_is_refused_unread(env: ProxyEnv) -> None:
    _, body = SHAPES["chat-content-string"]("the forbidden-word")

    response = _post(env, "chat", gzip.compress(orjson.dumps(body)), env.issue_key(), {"content-encoding": "gzip"})

    assert response.status_code == 415
    assert env.fake.requests == []
