"""Limits enforced by the proxy: 429 in each provider's envelope, naming the limit and when it resets."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import ADMIN_EMAIL
from tests.limits.conftest import HAIKU, Gateway, GatewayFactory
from tests.proxy.conftest import ALICE, BOB, SONNET
from tests.support.fakes.provider_bodies import FakeUsage

# Sonnet costs 3 / 15 USD per million input / output tokens (tests/proxy/conftest.py): 0.0009 USD per call.
USAGE = FakeUsage(input_tokens=100, output_tokens=40)
COST_PER_CALL = (100 * 3 + 40 * 15) / 1e6
DAY = 86400


def call_until_refused(gateway: Gateway, secret: str, calls: int, model: str = SONNET) -> list[httpx.Response]:
    """`calls` Anthropic calls, each one's usage counted before the next (its row is written)."""
    already = gateway.rows_written()
    responses = []
    for _ in range(calls):
        responses.append(gateway.anthropic_call(secret, model))
        gateway.env.usage_rows(already + sum(r.status_code == 200 for r in responses))
    return responses


def assert_refused_in_both_envelopes(gateway: Gateway, secret: str, message: str, max_wait: float) -> None:
    forwarded = len(gateway.env.fake.requests)
    anthropic = gateway.anthropic_call(secret)
    assert anthropic.status_code == 429
    body = anthropic.json()
    assert body["type"] == "error" and body["error"]["type"] == "rate_limit_error"
    assert body["error"]["message"].startswith(message), body
    assert "; resets in " in body["error"]["message"]
    assert 1 <= int(anthropic.headers["retry-after"]) <= max_wait

    openai = gateway.openai_call(secret)
    assert openai.status_code == 429
    error = openai.json()["error"]
    assert (error["type"], error["code"]) == ("rate_limit_exceeded", "rate_limit_exceeded")
    assert error["message"].startswith(message)
    assert 1 <= int(openai.headers["retry-after"]) <= max_wait
    assert len(gateway.env.fake.requests) == forwarded  # refused calls never reach the upstream


LIMIT_CASES = [
    # (setting, value, calls that pass, message, longest possible wait in seconds)
    ("default_input_token_quota", 150, 2, "input token quota of 150 per 24h exceeded", DAY + 1800),
    ("default_output_token_quota", 80, 2, "output token quota of 80 per 24h exceeded", DAY + 1800),
    ("default_requests_per_minute", 2, 2, "request rate of 2 per minute exceeded", 65),
    ("default_daily_budget_usd", 0.0015, 2, "daily spend budget of $0.0015 exceeded", DAY),
    ("default_monthly_budget_usd", 0.0015, 2, "monthly spend budget of $0.0015 exceeded", 31 * DAY),
]


@pytest.mark.parametrize(("setting", "value", "passing", "message", "max_wait"), LIMIT_CASES, ids=lambda v: str(v))
def test_each_limit_refuses_with_429_naming_it(
    start_gateway: GatewayFactory, setting: str, value: float, passing: int, message: str, max_wait: float
) -> None:
    gateway = start_gateway(**{setting: value})
    gateway.env.fake.configure(usage=USAGE)
    _, secret = gateway.new_key(ALICE)

    responses = call_until_refused(gateway, secret, passing)

    assert [r.status_code for r in responses] == [200] * passing
    assert_refused_in_both_envelopes(gateway, secret, message, max_wait)
    metrics = httpx.get(f"{gateway.live.url}/metrics", timeout=30).text
    kind = setting.removeprefix("default_")
    assert f'gateway_quota_refusals_total{{limit="{kind}"}} 2.0' in metrics  # one per envelope
    refused = gateway.env.refused_rows(2)  # in the call log, at no cost, with who was refused and why
    assert {(row.status_code, row.user_id is not None, row.api_key_id, row.cost_usd) for row in refused} == {
        (429, True, refused[0].api_key_id, 0.0)
    }
    assert all(row.refusal_reason and row.refusal_reason.startswith(message) for row in refused)


def test_a_user_limit_counts_all_of_their_keys(start_gateway: GatewayFactory) -> None:
    gateway = start_gateway(default_input_token_quota=150)
    gateway.env.fake.configure(usage=USAGE)
    _, first = gateway.new_key(ALICE)
    _, second = gateway.new_key(ALICE)
    _, bobs = gateway.new_key(BOB)

    call_until_refused(gateway, first, 1)
    call_until_refused(gateway, second, 1)

    assert gateway.anthropic_call(first).status_code == 429
    assert gateway.anthropic_call(second).status_code == 429
    assert gateway.anthropic_call(bobs, HAIKU).status_code == 200  # another user's use is not alice's


def test_admins_are_unlimited_unless_a_limit_is_set_on_them(start_gateway: GatewayFactory) -> None:
    gateway = start_gateway(default_requests_per_minute=1)
    policy = {"name": "admin", "subjects": [f"user:{ADMIN_EMAIL}"], "models": ["*"]}
    assert gateway.api("POST", "/policies", json=policy).status_code == 201
    _, secret = gateway.new_key(ADMIN_EMAIL)
    assert [gateway.anthropic_call(secret).status_code for _ in range(3)] == [200, 200, 200]

    me = gateway.api("GET", "/me").json()
    response = gateway.api("PUT", f"/users/{me['id']}/limits", json={"requests_per_minute": 1})
    assert response.status_code == 200, response.text

    assert gateway.anthropic_call(secret, HAIKU).status_code == 200
    refused = gateway.anthropic_call(secret)
    assert refused.status_code == 429
    assert refused.json()["error"]["message"].startswith("request rate of 1 per minute exceeded")


def test_a_key_override_beats_the_user_default(start_gateway: GatewayFactory) -> None:
    gateway = start_gateway(default_requests_per_minute=1)
    generous_id, generous = gateway.new_key(ALICE)
    _, plain = gateway.new_key(ALICE)
    response = gateway.api("PUT", f"/keys/{generous_id}/limits", json={"requests_per_minute": 3})
    assert response.status_code == 200, response.text

    assert [gateway.anthropic_call(generous).status_code for _ in range(3)] == [200, 200, 200]
    refused = gateway.anthropic_call(generous)
    assert refused.status_code == 429
    assert refused.json()["error"]["message"].startswith("request rate of 3 per minute exceeded for this API key")

    # The other key still has the default, counted for alice (the key with its own limit counts apart).
    assert gateway.anthropic_call(plain).status_code == 200
    assert gateway.anthropic_call(plain).status_code == 429


def test_a_limit_lowered_through_the_api_applies_to_use_already_made(start_gateway: GatewayFactory) -> None:
    gateway = start_gateway()
    gateway.env.fake.configure(usage=USAGE)
    _, secret = gateway.new_key(BOB)
    call_until_refused(gateway, secret, 2, HAIKU)  # unlimited so far: 200 input tokens used
    bob = gateway.api("GET", "/users", params={"q": BOB}).json()["data"][0]

    assert gateway.api("PUT", f"/users/{bob['id']}/limits", json={"input_token_quota": 200}).status_code == 200

    refused = gateway.anthropic_call(secret, HAIKU)
    assert refused.status_code == 429
    assert refused.json()["error"]["message"].startswith("input token quota of 200 per 24h exceeded")
    # Raising it again lets bob through at once.
    assert gateway.api("PUT", f"/users/{bob['id']}/limits", json={"input_token_quota": 1000}).status_code == 200
    assert gateway.anthropic_call(secret, HAIKU).status_code == 200


def test_a_restart_keeps_the_rolling_windows(start_gateway: GatewayFactory) -> None:
    limits = {"default_input_token_quota": 150, "default_daily_budget_usd": 1.0}
    first = start_gateway(**limits)
    first.env.fake.configure(usage=USAGE)
    _, secret = first.new_key(ALICE)
    _, bobs = first.new_key(BOB)
    call_until_refused(first, secret, 2)
    call_until_refused(first, bobs, 1, HAIKU)
    first.stop()

    second = start_gateway(**limits)  # same database, fresh process state: counts come from the usage rows

    refused = second.anthropic_call(secret)
    assert refused.status_code == 429
    assert refused.json()["error"]["message"].startswith("input token quota of 150 per 24h exceeded")
    assert second.anthropic_call(bobs, HAIKU).status_code == 200  # 100 of 150 used
    me = second.api("GET", "/me/limits", headers={"Authorization": f"Bearer {second.new_key(ALICE, 'ui')[1]}"})
    account = {item["kind"]: item for item in me.json()["account"]}
    assert account["input_token_quota"]["used"] == 200
    assert account["daily_budget_usd"]["used"] == pytest.approx(2 * COST_PER_CALL)
