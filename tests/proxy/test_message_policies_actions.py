"""Each request scope (user_messages, tool_results) with each action (block, redact, monitor), for Anthropic
messages, OpenAI chat completions and OpenAI responses, streamed and not, through the real SDKs: a block is
answered by the gateway (never forwarded, never billed, a refused row naming the policy), a redaction reaches the
upstream redacted, a monitor forwards unchanged; every violation is linked to its call."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anthropic
import pytest

from gateway_api.core.settings import Settings
from gateway_api.db.models import Outcome
from tests.proxy.conftest import SONNET, ProxyEnv
from tests.proxy.policy_calls import FORMATS, Clients, Format, Reply, ask, upstream_texts, violations
from tests.proxy.policy_env import policy_env
from tests.support.fakes.upstream import FakeUpstream


def _policy(name: str, scope: str, action: str, pattern: str) -> dict[str, object]:
    return {"name": name, "subjects": ["*"], "scope": [scope], "action": action, "rule": {"pattern": pattern}}


POLICIES = [
    _policy("block-user", "user_messages", "block", "forbidden-word"),
    _policy("redact-user", "user_messages", "redact", "SECRET-[0-9]{4}"),
    _policy("monitor-user", "user_messages", "monitor", "watched-word"),
    _policy("block-tool", "tool_results", "block", "tool-forbidden"),
    _policy("redact-tool", "tool_results", "redact", "TOOLSECRET-[0-9]{4}"),
    _policy("monitor-tool", "tool_results", "monitor", "tool-watched"),
]
# Per scope and action: the policy, and the text that triggers it.
TRIGGERS = {
    ("user_messages", "block"): ("block-user", "please say the forbidden-word"),
    ("user_messages", "redact"): ("redact-user", "my token is SECRET-1234, keep it"),
    ("user_messages", "monitor"): ("monitor-user", "a watched-word in passing"),
    ("tool_results", "block"): ("block-tool", "file says tool-forbidden here"),
    ("tool_results", "redact"): ("redact-tool", "env: TOOLSECRET-9876 end"),
    ("tool_results", "monitor"): ("monitor-tool", "output with tool-watched inside"),
}
SCOPES = ("user_messages", "tool_results")


@pytest.fixture
def env(settings: Settings, fake_upstream: FakeUpstream, tmp_path: Path) -> Iterator[ProxyEnv]:
    yield from policy_env(settings, fake_upstream, tmp_path, POLICIES)


def _send(env: ProxyEnv, fmt: Format, stream: bool, scope: str, trigger: str) -> Reply:
    clients = Clients(env, env.issue_key())
    if scope == "user_messages":
        return ask(clients, fmt, stream, trigger)
    return ask(clients, fmt, stream, "run the tool", tool_result=trigger)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("scope", SCOPES)
def test_a_block_is_answered_by_the_gateway_never_forwarded_nor_billed(
    env: ProxyEnv, scope: str, fmt: Format, stream: bool
) -> None:
    name, trigger = TRIGGERS[(scope, "block")]
    reply = _send(env, fmt, stream, scope, trigger)

    assert f'message policy "{name}"' in reply.text
    assert reply.headers["x-gateway-policy-violation"] == name
    assert reply.tool_calls == []
    assert env.fake.requests == []
    (row,) = env.refused_rows(1)
    assert row.outcome == Outcome.refused and row.cost_usd == 0
    assert row.refusal_reason is not None and f'message policy "{name}"' in row.refusal_reason
    assert row.input_tokens == 0 and row.output_tokens == 0
    (violation,) = violations(env, 1)
    assert (violation.policy_name, violation.scope, violation.action) == (name, scope, "block")
    assert violation.call_id == row.call_id
    env.usage_rows(0)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("scope", SCOPES)
def test_a_redaction_reaches_the_upstream_redacted(env: ProxyEnv, scope: str, fmt: Format, stream: bool) -> None:
    name, trigger = TRIGGERS[(scope, "redact")]
    reply = _send(env, fmt, stream, scope, trigger)

    assert "Hello from the fake upstream" in reply.text
    (sent,) = upstream_texts(env)
    assert f"[REDACTED:{name}]" in sent
    assert "SECRET-" not in sent.replace(f"[REDACTED:{name}]", "")
    (row,) = env.usage_rows(1)
    assert row.cost_usd is not None and row.cost_usd > 0  # the redacted call is an ordinary, billed call
    (violation,) = violations(env, 1)
    assert (violation.policy_name, violation.scope, violation.action) == (name, scope, "redact")
    assert violation.call_id == row.call_id
    env.refused_rows(0)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("scope", SCOPES)
def test_a_monitor_forwards_unchanged_and_records(env: ProxyEnv, scope: str, fmt: Format, stream: bool) -> None:
    name, trigger = TRIGGERS[(scope, "monitor")]
    reply = _send(env, fmt, stream, scope, trigger)

    assert "Hello from the fake upstream" in reply.text
    assert "x-gateway-policy-violation" not in reply.headers
    (sent,) = upstream_texts(env)
    assert trigger in sent
    (row,) = env.usage_rows(1)
    (violation,) = violations(env, 1)
    assert (violation.policy_name, violation.scope, violation.action) == (name, scope, "monitor")
    assert violation.call_id == row.call_id


def test_a_blocked_count_tokens_is_a_400_in_the_provider_envelope(env: ProxyEnv) -> None:
    client = Clients(env, env.issue_key()).anthropic()
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.count_tokens(model=SONNET, messages=[{"role": "user", "content": "the forbidden-word"}])

    assert caught.value.status_code == 400
    assert caught.value.response.headers["x-gateway-policy-violation"] == "block-user"
    body = caught.value.response.json()
    assert body["type"] == "error" and 'message policy "block-user"' in body["error"]["message"]
    assert env.fake.requests == []
    (row,) = env.refused_rows(1)
    (violation,) = violations(env, 1)
    assert violation.call_id == row.call_id


def test_count_tokens_is_counted_on_the_redacted_text(env: ProxyEnv) -> None:
    client = Clients(env, env.issue_key()).anthropic()

    counted = client.messages.count_tokens(
        model=SONNET, messages=[{"role": "user", "content": "count SECRET-1234 please"}]
    )

    assert counted.input_tokens == 25
    (sent,) = upstream_texts(env)
    assert "count [REDACTED:redact-user] please" in sent and "SECRET-1234" not in sent


@pytest.fixture
def quota_env(settings: Settings, fake_upstream: FakeUpstream, tmp_path: Path) -> Iterator[ProxyEnv]:
    # Enough for a few real calls (25 input tokens each on the fake), far too little for 40 blocked ones were their
    # reservations (the body's size in tokens) or any usage kept.
    # One call at a time: a blocked call that kept its concurrency slot would refuse every call after it.
    tiny = settings.model_copy(update={"default_input_token_quota": 400, "default_max_concurrent_calls": 1})
    yield from policy_env(tiny, fake_upstream, tmp_path, POLICIES)


def test_blocked_calls_never_charge_the_limits(quota_env: ProxyEnv) -> None:
    env = quota_env
    clients = Clients(env, env.issue_key())
    padding = "x" * 200  # about 60 tokens of reservation per call
    for _ in range(40):
        reply = ask(clients, "messages", False, f"{padding} forbidden-word")
        assert 'message policy "block-user"' in reply.text
    env.refused_rows(40)

    forwarded = ask(clients, "chat", False, "an ordinary question")

    assert "Hello from the fake upstream" in forwarded.text
    assert len(upstream_texts(env)) == 1
    (row,) = env.usage_rows(1)
    assert row.input_tokens == 25
    # The quota itself is live: it is spent by forwarded calls alone, and then refuses.
    refused = 0
    for _ in range(30):
        try:
            ask(clients, "chat", False, "another ordinary question")
        except Exception as error:  # noqa: BLE001 - the SDK's 429
            assert getattr(error, "status_code", None) == 429
            refused += 1
            break
    assert refused == 1


def test_a_blocked_chat_stream_that_asked_for_usage_ends_with_a_zero_usage_chunk(env: ProxyEnv) -> None:
    client = Clients(env, env.issue_key()).openai()
    chunks = list(
        client.chat.completions.create(
            model="gpt-5",
            messages=[{"role": "user", "content": "the forbidden-word"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )

    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert 'message policy "block-user"' in text
    assert [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices][-1] == "stop"
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None and last.usage.total_tokens == 0
    assert env.fake.requests == []
