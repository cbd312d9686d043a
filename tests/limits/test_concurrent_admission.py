"""Limits hold under concurrency in one process: calls in flight reserve their expected cost and hold a slot, so
50 calls fired at once cannot all pass a quota, a budget or a concurrent-calls limit."""

from __future__ import annotations

import asyncio
import time

from gateway_api.limits.rules import LimitKind, user_subject
from tests.limits.concurrent_calls import COST_PER_CALL, HELD_SECONDS, INPUT_PER_CALL, USAGE, fire_at_once, statuses
from tests.limits.conftest import GatewayFactory
from tests.limits.test_shared_counters import alice_id
from tests.proxy.conftest import ALICE

CALLS = 50
QUOTA = 500
BUDGET = 0.005


def test_fifty_calls_at_once_pass_an_input_quota_by_at_most_one_call(start_gateway: GatewayFactory) -> None:
    gateway = start_gateway(default_input_token_quota=QUOTA)
    gateway.env.fake.configure(usage=USAGE, headers_delay=0.5)
    _, secret = gateway.new_key(ALICE)

    responses = fire_at_once([gateway.env.anthropic_url], secret, CALLS)

    passed = statuses(responses).get(200, 0)
    assert passed * INPUT_PER_CALL <= QUOTA + INPUT_PER_CALL, statuses(responses)
    assert passed >= 2  # the reservation estimate is conservative, not absurd
    refused = [r for r in responses if r.status_code == 429]
    assert len(refused) == CALLS - passed
    assert all(r.json()["error"]["message"].startswith("input token quota of 500 per 24h exceeded") for r in refused)
    assert all(int(r.headers["retry-after"]) >= 1 for r in refused)
    rows = gateway.env.usage_rows(passed)
    assert sum(row.input_tokens for row in rows) <= QUOTA + INPUT_PER_CALL


def test_fifty_calls_at_once_pass_a_spend_budget_by_at_most_one_call(start_gateway: GatewayFactory) -> None:
    gateway = start_gateway(default_daily_budget_usd=BUDGET)
    gateway.env.fake.configure(usage=USAGE, headers_delay=0.5)
    _, secret = gateway.new_key(ALICE)

    responses = fire_at_once([gateway.env.anthropic_url], secret, CALLS)

    passed = statuses(responses).get(200, 0)
    assert 1 <= passed and passed * COST_PER_CALL <= BUDGET + COST_PER_CALL, statuses(responses)
    rows = gateway.env.usage_rows(passed)
    assert sum(row.cost_usd for row in rows) <= BUDGET + COST_PER_CALL


def test_the_reservation_settles_to_the_real_figures(start_gateway: GatewayFactory) -> None:
    gateway = start_gateway(default_input_token_quota=QUOTA)
    gateway.env.fake.configure(usage=USAGE)
    _, secret = gateway.new_key(ALICE)

    responses = fire_at_once([gateway.env.anthropic_url], secret, 1)
    assert responses[0].status_code == 200
    gateway.env.usage_rows(1)

    subject = user_subject(alice_id(gateway))

    def used_input() -> float:
        # The test is quiet now: reading the gateway's limiter from this thread races with nothing.
        return asyncio.run(gateway.env.services.limits.used([subject]))[subject][LimitKind.input_tokens]

    deadline = time.monotonic() + 5
    while used_input() != INPUT_PER_CALL:
        assert time.monotonic() < deadline, used_input()
        time.sleep(0.05)


def test_a_failed_call_gives_its_reservation_back(start_gateway: GatewayFactory) -> None:
    gateway = start_gateway(default_input_token_quota=QUOTA)
    gateway.env.fake.configure(usage=USAGE, error_status=500)
    _, secret = gateway.new_key(ALICE)
    for _ in range(5):  # each reserves more than a fifth of the quota; none uses any
        assert fire_at_once([gateway.env.anthropic_url], secret, 1)[0].status_code == 500
    gateway.env.usage_rows(5)
    gateway.env.fake.configure(error_status=None)
    assert fire_at_once([gateway.env.anthropic_url], secret, 1)[0].status_code == 200


def test_a_concurrent_calls_limit_holds_and_gives_slots_back(start_gateway: GatewayFactory) -> None:
    gateway = start_gateway(default_max_concurrent_calls=3)
    gateway.env.fake.configure(usage=USAGE, headers_delay=HELD_SECONDS)
    _, secret = gateway.new_key(ALICE)

    responses = fire_at_once([gateway.env.anthropic_url], secret, 20)

    assert statuses(responses).get(200, 0) == 3, statuses(responses)
    refused = [r for r in responses if r.status_code == 429]
    assert len(refused) == 17
    message = refused[0].json()["error"]["message"]
    assert message.startswith("limit of 3 concurrent calls reached"), message
    gateway.env.fake.configure(headers_delay=0.0)
    assert [r.status_code for r in fire_at_once([gateway.env.anthropic_url], secret, 3)] == [200] * 3


def test_a_key_override_of_the_concurrent_calls_limit_beats_the_default(start_gateway: GatewayFactory) -> None:
    gateway = start_gateway(default_max_concurrent_calls=1)
    gateway.env.fake.configure(usage=USAGE, headers_delay=HELD_SECONDS)
    key_id, secret = gateway.new_key(ALICE)
    response = gateway.api("PUT", f"/keys/{key_id}/limits", json={"max_concurrent_calls": 4})
    assert response.status_code == 200, response.text
    effective = {e["kind"]: e for e in response.json()["effective"]}
    assert effective["max_concurrent_calls"] == {"kind": "max_concurrent_calls", "limit": 4, "source": "key"}
    gateway.env.services.catalog.reload()

    responses = fire_at_once([gateway.env.anthropic_url], secret, 10)

    assert statuses(responses).get(200, 0) == 4, statuses(responses)
    assert "for this API key" in next(r for r in responses if r.status_code == 429).text
