"""Message policies through a live gateway: a block answered in the provider's format and never forwarded, a
redaction reaching the upstream redacted, a blocked tool call replaced, violations linked to their calls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anthropic
import pytest
from sqlmodel import Session, select

from gateway_api.core.settings import Settings
from gateway_api.db.models import MessagePolicyViolation
from tests.proxy.conftest import SONNET, ProxyEnv
from tests.proxy.policy_env import policy_env
from tests.support.fakes.tool_bodies import ToolCallSpec
from tests.support.fakes.upstream import FakeUpstream

POLICIES = [
    {
        "name": "no-cloud-keys",
        "subjects": ["*"],
        "scope": ["user_messages", "tool_results"],
        "action": "redact",
        "rule": {"pattern": "AKIA[0-9A-Z]{16}"},
    },
    {
        "name": "no-launch-codes",
        "subjects": ["group:engineers"],
        "scope": ["user_messages"],
        "action": "block",
        "rule": {"pattern": "launch code"},
    },
    {
        "name": "no-rm",
        "subjects": ["*"],
        "scope": ["tool_calls"],
        "action": "block",
        "rule": {"pattern": "rm -rf"},
    },
]


@pytest.fixture
def env(settings: Settings, fake_upstream: FakeUpstream, tmp_path: Path) -> Iterator[ProxyEnv]:
    yield from policy_env(settings, fake_upstream, tmp_path, POLICIES)


def _client(env: ProxyEnv, key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=env.anthropic_url, api_key=key, max_retries=0)


def _violations(env: ProxyEnv, count: int) -> list[MessagePolicyViolation]:
    import time

    deadline = time.monotonic() + 10
    while True:
        with Session(env.engine) as session:
            rows = list(session.exec(select(MessagePolicyViolation).order_by(MessagePolicyViolation.id)))
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


def test_a_blocked_request_is_answered_by_the_gateway_and_never_forwarded(env: ProxyEnv) -> None:
    key = env.issue_key()
    raw = _client(env, key).messages.with_raw_response.create(
        model=SONNET, max_tokens=50, messages=[{"role": "user", "content": "what is the launch code?"}]
    )
    message = raw.parse()

    assert raw.headers["x-gateway-policy-violation"] == "no-launch-codes"
    assert 'message policy "no-launch-codes"' in message.content[0].text  # type: ignore[union-attr]
    assert env.fake.requests == []
    (row,) = env.refused_rows(1)
    assert row.refusal_reason and "no-launch-codes" in row.refusal_reason and row.cost_usd == 0
    (violation,) = _violations(env, 1)
    assert violation.policy_name == "no-launch-codes" and violation.call_id == row.call_id
    assert b"launch code" not in violation.content_sealed


def test_a_redaction_reaches_the_upstream_redacted(env: ProxyEnv) -> None:
    key = env.issue_key()
    with _client(env, key).messages.stream(
        model=SONNET,
        max_tokens=50,
        messages=[{"role": "user", "content": "my key is AKIAABCDEFGHIJKLMNOP, keep it"}],
    ) as stream:
        stream.get_final_message()

    sent = env.fake.last_request().json()
    assert sent["messages"][0]["content"] == "my key is [REDACTED:no-cloud-keys], keep it"
    (row,) = env.usage_rows(1)
    (violation,) = _violations(env, 1)
    assert violation.action == "redact" and violation.call_id == row.call_id


def test_a_blocked_tool_call_never_reaches_the_client(env: ProxyEnv) -> None:
    key = env.issue_key()
    env.fake.configure(tool_call=ToolCallSpec("bash", {"command": "rm -rf /"}), reply_text="Cleaning up.")
    with _client(env, key).messages.stream(
        model=SONNET, max_tokens=50, messages=[{"role": "user", "content": "tidy the disk"}]
    ) as stream:
        final = stream.get_final_message()

    assert final.stop_reason == "end_turn"
    assert all(block.type == "text" for block in final.content)
    assert "no-rm" in final.content[-1].text  # type: ignore[union-attr]
    (row,) = env.usage_rows(1)
    (violation,) = _violations(env, 1)
    assert violation.scope == "tool_calls" and violation.call_id == row.call_id
