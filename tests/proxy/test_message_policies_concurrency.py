"""Many calls at once under a redact policy, through a live gateway: each is forwarded redacted, leaves one usage
row, and has its own violation linked to it (no call's text or id leaks into another's)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gateway_api.core.settings import Settings
from tests.proxy.conftest import ProxyEnv
from tests.proxy.policy_calls import FORMATS, Clients, ask, upstream_texts, violations
from tests.proxy.policy_env import policy_env
from tests.support.fakes.upstream import FakeUpstream

CALLS = 64
POLICIES = [
    {
        "name": "no-cloud-keys",
        "subjects": ["*"],
        "scope": ["user_messages", "tool_results"],
        "action": "redact",
        "rule": {"pattern": "AKIA[0-9A-Z]{16}"},
    }
]


@pytest.fixture
def env(settings: Settings, fake_upstream: FakeUpstream, tmp_path: Path) -> Iterator[ProxyEnv]:
    yield from policy_env(settings, fake_upstream, tmp_path, POLICIES)


def _secret(index: int) -> str:
    return f"AKIA{index:016d}"


def test_concurrent_calls_are_each_redacted_billed_once_and_linked(env: ProxyEnv) -> None:
    key = env.issue_key()

    def call(index: int) -> str:
        fmt, stream = FORMATS[index % 3], index % 2 == 0
        return ask(Clients(env, key), fmt, stream, f"call {index:02d} uses {_secret(index)}").text

    with ThreadPoolExecutor(CALLS) as pool:
        replies = list(pool.map(call, range(CALLS)))

    assert all(reply.startswith("Hello from the fake upstream") for reply in replies)
    sent = upstream_texts(env)
    assert len(sent) == CALLS
    for index in range(CALLS):
        (body,) = [text for text in sent if f"call {index:02d} uses" in text]
        assert f"call {index:02d} uses [REDACTED:no-cloud-keys]" in body
        assert "AKIA" not in body
    rows = env.usage_rows(CALLS)
    call_ids = {row.call_id for row in rows}
    assert len(call_ids) == CALLS
    found = violations(env, CALLS)
    assert {violation.call_id for violation in found} == call_ids
    assert all(violation.action == "redact" for violation in found)
