"""Counters in Redis: limits hold across replicas on one database; a failing Redis falls back to local counts."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import redis

from tests.limits.conftest import REDIS_URL, Gateway, GatewayFactory, needs_redis
from tests.limits.test_proxy_limits import call_until_refused
from tests.proxy.conftest import ALICE
from tests.support.fakes.provider_bodies import FakeUsage
from tests.support.live import free_port
from tests.support.tcp_relay import TcpRelay

USAGE = FakeUsage(input_tokens=100, output_tokens=40)
# Replicas that must share counts are given time to wait on Redis: at the default 0.5 s, one stall of a busy test
# machine made a replica count alone (as designed for a Redis outage) and admit a call the shared count refuses.
PATIENT = {"limits_redis_timeout_seconds": 10.0}


def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def redis_total(prefix: str, subject: str, metric: str) -> float:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(f"{prefix}{subject}:{metric}:*"))
        assert all(client.ttl(k) > 0 for k in keys), "every counter must expire on its own"
        return sum(float(v) for v in client.mget(keys)) if keys else 0.0
    finally:
        client.close()


def alice_id(gateway: Gateway) -> int:
    return gateway.api("GET", "/users", params={"q": ALICE}).json()["data"][0]["id"]


@needs_redis
def test_two_replicas_share_a_token_quota(start_gateway: GatewayFactory, redis_prefix: str) -> None:
    shared = {"redis_url": REDIS_URL, "limits_redis_prefix": redis_prefix, "default_input_token_quota": 150, **PATIENT}
    first, second = start_gateway(**shared), start_gateway(**shared)
    first.env.fake.configure(usage=USAGE)
    _, secret = first.new_key(ALICE)
    second.env.services.catalog.reload()

    assert call_until_refused(first, secret, 1)[0].status_code == 200
    assert call_until_refused(second, secret, 1)[0].status_code == 200
    user = alice_id(first)
    eventually(lambda: redis_total(redis_prefix, f"u{user}", "in") == 200)

    for gateway in (first, second):
        refused = gateway.anthropic_call(secret)
        assert refused.status_code == 429
        assert refused.json()["error"]["message"].startswith("input token quota of 150 per 24h exceeded")


@needs_redis
def test_two_replicas_share_a_request_rate(start_gateway: GatewayFactory, redis_prefix: str) -> None:
    shared = {"redis_url": REDIS_URL, "limits_redis_prefix": redis_prefix, "default_requests_per_minute": 3, **PATIENT}
    first, second = start_gateway(**shared), start_gateway(**shared)
    _, secret = first.new_key(ALICE)
    second.env.services.catalog.reload()

    statuses = [gateway.anthropic_call(secret).status_code for gateway in (first, second, first, second, first)]

    assert statuses == [200, 200, 200, 429, 429]
    assert redis_total(redis_prefix, f"u{alice_id(first)}", "req") == 3  # refused calls are taken back


@needs_redis
def test_an_empty_redis_is_seeded_once_from_the_usage_rows(start_gateway: GatewayFactory, redis_prefix: str) -> None:
    local = start_gateway()
    local.env.fake.configure(usage=USAGE)
    _, secret = local.new_key(ALICE)
    call_until_refused(local, secret, 2)
    user = alice_id(local)
    local.stop()

    shared = {"redis_url": REDIS_URL, "limits_redis_prefix": redis_prefix, "default_input_token_quota": 150, **PATIENT}
    first = start_gateway(**shared)
    assert redis_total(redis_prefix, f"u{user}", "in") == 200
    assert redis_total(redis_prefix, f"u{user}", "out") == 80
    start_gateway(**shared)  # a second replica finds the counters there and adds nothing
    assert redis_total(redis_prefix, f"u{user}", "in") == 200

    refused = first.anthropic_call(secret)
    assert refused.status_code == 429
    assert refused.json()["error"]["message"].startswith("input token quota of 150 per 24h exceeded")


def test_a_failing_redis_falls_back_to_counting_in_the_process(
    start_gateway: GatewayFactory, redis_prefix: str, capfd: pytest.CaptureFixture[str]
) -> None:
    unreachable = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    gateway = start_gateway(redis_url=unreachable, limits_redis_prefix=redis_prefix, default_requests_per_minute=2)
    _, secret = gateway.new_key(ALICE)

    statuses = [gateway.anthropic_call(secret).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert "limit counters: Redis unavailable" in capfd.readouterr().err  # and the log says why


@needs_redis
def test_counts_made_while_redis_was_away_reach_it_when_it_returns(
    start_gateway: GatewayFactory, redis_prefix: str
) -> None:
    target = redis.Redis.from_url(REDIS_URL).connection_pool.connection_kwargs
    relay = TcpRelay(target.get("host", "127.0.0.1"), target.get("port", 6379))
    relay.start()
    try:
        gateway = start_gateway(
            redis_url=f"redis://127.0.0.1:{relay.port}/{target.get('db', 0)}",
            limits_redis_prefix=redis_prefix,
            default_input_token_quota=250,
        )
        gateway.env.fake.configure(usage=USAGE)
        _, secret = gateway.new_key(ALICE)
        user = alice_id(gateway)
        call_until_refused(gateway, secret, 1)
        eventually(lambda: redis_total(redis_prefix, f"u{user}", "in") == 100)

        relay.stop()  # Redis goes away: calls go on, limited by this process's own counts
        assert [r.status_code for r in call_until_refused(gateway, secret, 2)] == [200, 200]
        relay.start()

        eventually(lambda: redis_total(redis_prefix, f"u{user}", "in") == 300, timeout=30)
        assert gateway.anthropic_call(secret).status_code == 429
    finally:
        relay.close()
