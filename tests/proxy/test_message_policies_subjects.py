"""Who message policies apply to, through a live gateway: a user no policy's subjects name is not affected (their
text forwarded as sent, nothing recorded), a named user is; a disabled policy does nothing, judged or not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway_api.core.settings import Settings
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.proxy.conftest import ALICE, BOB, ProxyEnv
from tests.proxy.policy_calls import Clients, ask, judge_requests, upstream_texts, verdict, verdicts, violations
from tests.proxy.policy_env import JUDGE_MODEL, policy_env
from tests.support.fakes.upstream import FakeUpstream

POLICIES: list[dict[str, Any]] = [
    {
        "name": "engineers-only",
        "subjects": ["group:engineers"],
        "scope": ["user_messages"],
        "action": "block",
        "rule": {"pattern": "forbidden-word"},
    },
    {
        "name": "bob-only",
        "subjects": [f"user:{BOB}"],
        "scope": ["user_messages"],
        "action": "redact",
        "rule": {"pattern": "bob-secret-[0-9]+"},
    },
    {
        "name": "switched-off",
        "subjects": ["*"],
        "scope": ["user_messages", "tool_results"],
        "action": "block",
        "rule": {"pattern": "disabled-word"},
        "enabled": False,
    },
    {
        "name": "switched-off-judge",
        "subjects": ["*"],
        "scope": ["user_messages"],
        "action": "block",
        "rule": {"judge": "Block everything."},
        "enabled": False,
    },
]


@pytest.fixture
def env(settings: Settings, fake_upstream: FakeUpstream, tmp_path: Path) -> Iterator[ProxyEnv]:
    yield from policy_env(settings, fake_upstream, tmp_path, POLICIES)


def _bob_asks(env: ProxyEnv, text: str) -> str:
    # Bob may use only claude-haiku-4-5 (the judge model, here called as an ordinary model).
    client = Clients(env, env.issue_key(BOB)).anthropic()
    message = client.messages.create(model=JUDGE_MODEL, max_tokens=20, messages=[{"role": "user", "content": text}])
    return "".join(block.text for block in message.content if block.type == "text")


def test_a_user_no_policy_names_is_not_affected(env: ProxyEnv) -> None:
    said = _bob_asks(env, "the forbidden-word, please")

    assert said.startswith("Hello from the fake upstream")
    (sent,) = upstream_texts(env)
    assert "the forbidden-word, please" in sent
    violations(env, 0)
    # The same text from Alice, whom the policy names through her group, is blocked.
    reply = ask(Clients(env, env.issue_key(ALICE)), "messages", False, "the forbidden-word, please")
    assert reply.headers["x-gateway-policy-violation"] == "engineers-only"
    assert len(upstream_texts(env)) == 1


def test_a_user_policy_applies_to_that_user_only(env: ProxyEnv) -> None:
    ask(Clients(env, env.issue_key(ALICE)), "chat", False, "alice has bob-secret-42")
    _bob_asks(env, "bob has bob-secret-42")

    alices, bobs = upstream_texts(env)
    assert "alice has bob-secret-42" in alices
    assert "bob has [REDACTED:bob-only]" in bobs
    (violation,) = violations(env, 1)
    assert violation.policy_name == "bob-only"


@pytest.mark.parametrize("email", [ALICE, BOB])
def test_disabled_policies_do_nothing(env: ProxyEnv, email: str) -> None:
    env.fake.configure(reply_for=verdicts(lambda _: verdict(True, "Everything is blocked.")))
    text = "the disabled-word, to be judged"

    if email == ALICE:
        said = ask(Clients(env, env.issue_key(ALICE)), "responses", True, text).text
    else:
        said = _bob_asks(env, text)

    assert said.startswith("Hello from the fake upstream")
    assert judge_requests(env) == []
    (sent,) = upstream_texts(env)
    assert text in sent
    violations(env, 0)


def test_policies_changed_through_the_api_apply_to_the_next_call(env: ProxyEnv) -> None:
    admin = {"authorization": f"Bearer {env.live.login(ADMIN_EMAIL, ADMIN_PASSWORD)}"}
    api = f"{env.live.url}/api/message-policies"
    clients = Clients(env, env.issue_key(ALICE))
    env.fake.configure(reply_for=verdicts(lambda _: verdict(False, "Fine.")))
    created = httpx.post(
        api,
        headers=admin,
        timeout=30,
        json={
            "name": "no-pirates",
            "subjects": ["*"],
            "scope": ["user_messages"],
            "action": "block",
            "rule": {"judge": "Block talk of pirates."},
        },
    )
    assert created.status_code == 201, created.text
    policy = f"{api}/{created.json()['id']}"

    assert "x-gateway-policy-violation" not in ask(clients, "chat", False, "ahoy, pirates").headers
    # An edited rule is judged afresh: the verdict cached for the old rule does not answer for the new one.
    env.fake.configure(reply_for=verdicts(lambda _: verdict(True, "Pirates.")))
    edited = httpx.patch(policy, headers=admin, timeout=30, json={"rule": {"judge": "Block talk of pirates, ahoy."}})
    assert edited.status_code == 200, edited.text
    assert ask(clients, "chat", False, "ahoy, pirates").headers["x-gateway-policy-violation"] == "no-pirates"
    assert len(judge_requests(env)) == 2

    disabled = httpx.patch(policy, headers=admin, timeout=30, json={"enabled": False})
    assert disabled.status_code == 200, disabled.text
    assert "x-gateway-policy-violation" not in ask(clients, "chat", False, "ahoy, pirates").headers
    assert len(judge_requests(env)) == 2
