"""Limits and sign-in throttles hold across the workers of `gateway serve --workers 2` without Redis (the
counter owner), and across two `gateway serve` replicas sharing Redis and PostgreSQL: real processes, calls
fired at once so that both workers (or replicas) answer some of them."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, POSTGRES_URL
from tests.limits.concurrent_calls import COST_PER_CALL, HELD_SECONDS, INPUT_PER_CALL, USAGE, fire_at_once, statuses
from tests.proxy.conftest import ALICE
from tests.support.fakes.upstream import FakeUpstream
from tests.support.served import REDIS_URL, ServedGateway, gateway_environment, serve_gateway

CALLS = 50
LIMITS = {"quota": {"default_input_token_quota": "500"}, "budget": {"default_daily_budget_usd": "0.005"}}
REFUSED_BY = {"quota": "input token quota of 500 per 24h exceeded", "budget": "daily spend budget of $0.005 exceeded"}
Serve = Callable[..., list[ServedGateway]]


@pytest.fixture
def serve(database_url: str, fake_upstream: FakeUpstream, tmp_path: Path) -> Iterator[Serve]:
    """serve(replicas=1, workers=2, redis_url="", **settings): the running gateways, stopped after the test."""
    started: list[ServedGateway] = []

    def start(replicas: int = 1, workers: int = 2, redis_url: str = "", **settings: str) -> list[ServedGateway]:
        env = gateway_environment(tmp_path / "data", database_url, fake_upstream, redis_url=redis_url, **settings)
        for index in range(replicas):  # one after the other: the first creates the schema
            started.append(serve_gateway(env, tmp_path / f"gateway-{index}.log", workers=workers))
        return list(started)

    try:
        yield start
    finally:
        for served in started:
            assert served.terminate() == 0, served.log_text()[-2000:]


def alice_key(served: ServedGateway) -> str:
    admin = {"Authorization": f"Bearer {served.login(ADMIN_EMAIL, ADMIN_PASSWORD)}"}
    users = httpx.get(f"{served.url}/api/users", headers=admin, params={"q": ALICE}, timeout=30).json()["data"]
    response = httpx.post(f"{served.url}/api/keys", headers=admin, json={"user_id": users[0]["id"]}, timeout=30)
    assert response.status_code == 201, response.text
    return str(response.json()["secret"])


def urls(gateways: list[ServedGateway]) -> list[str]:
    return [g.anthropic_url for g in gateways]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_request_rate_of_10_lets_10_calls_through_whichever_worker_answers(
    serve: Serve, fake_upstream: FakeUpstream
) -> None:
    (served,) = serve(default_requests_per_minute="10")
    fake_upstream.configure(usage=USAGE)
    key = alice_key(served)

    responses = fire_at_once([served.anthropic_url], key, 24)

    assert statuses(responses) == {200: 10, 429: 14}
    assert fire_at_once([served.anthropic_url], key, 4)[0].status_code == 429


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_five_bad_sign_ins_throttle_the_client_on_every_worker(serve: Serve) -> None:
    (served,) = serve()

    def sign_in(_index: int) -> int:
        wrong = {"email": ADMIN_EMAIL, "password": "not-the-password"}
        return httpx.post(f"{served.url}/api/auth/login", json=wrong, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=5) as pool:  # at once: both workers see some of them
        assert list(pool.map(sign_in, range(5))) == [401] * 5
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(sign_in, range(8))) == [429] * 8
    right = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    assert httpx.post(f"{served.url}/api/auth/login", json=right, timeout=30).status_code == 429


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_five_guessed_keys_throttle_the_client_on_every_worker(serve: Serve) -> None:
    (served,) = serve()

    def guess(index: int) -> int:
        key = f"gwk_guessedKey{index:02d}AbCdEfGhIjKlMnOpQrStUvWxYz012345"
        return httpx.post(f"{served.anthropic_url}/v1/messages", headers={"x-api-key": key}, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=5) as pool:
        assert list(pool.map(guess, range(5))) == [401] * 5
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(guess, range(5, 13))) == [429] * 8


@pytest.mark.parametrize("limit", LIMITS)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_two_workers_hold_a_quota_and_a_budget_under_50_calls_at_once(
    serve: Serve, fake_upstream: FakeUpstream, limit: str
) -> None:
    (served,) = serve(**LIMITS[limit])
    assert_limits_hold(urls([served]), alice_key(served), fake_upstream, limit)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_two_workers_hold_a_concurrent_calls_limit(serve: Serve, fake_upstream: FakeUpstream) -> None:
    (served,) = serve(default_max_concurrent_calls="3")
    assert_concurrency_holds(urls([served]), alice_key(served), fake_upstream)


@pytest.mark.skipif(not REDIS_URL or not POSTGRES_URL, reason="needs GATEWAY_TEST_REDIS_URL and _DATABASE_URL")
@pytest.mark.parametrize("limit", LIMITS)
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_replicas_on_redis_hold_a_quota_and_a_budget_under_50_calls_at_once(
    serve: Serve, fake_upstream: FakeUpstream, limit: str
) -> None:
    prefix = f"gateway-test:{uuid.uuid4().hex[:12]}:"  # counters of this test only (they outlive it in Redis)
    replicas = serve(
        replicas=2,
        workers=1,
        redis_url=REDIS_URL,
        limits_redis_prefix=prefix,
        limits_redis_timeout_seconds="10",
        **LIMITS[limit],
    )
    assert_limits_hold(urls(replicas), alice_key(replicas[0]), fake_upstream, limit)


@pytest.mark.skipif(not REDIS_URL or not POSTGRES_URL, reason="needs GATEWAY_TEST_REDIS_URL and _DATABASE_URL")
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_replicas_on_redis_hold_a_concurrent_calls_limit(serve: Serve, fake_upstream: FakeUpstream) -> None:
    prefix = f"gateway-test:{uuid.uuid4().hex[:12]}:"  # counters of this test only (they outlive it in Redis)
    replicas = serve(
        replicas=2,
        workers=1,
        redis_url=REDIS_URL,
        limits_redis_prefix=prefix,
        limits_redis_timeout_seconds="10",
        default_max_concurrent_calls="3",
    )
    assert_concurrency_holds(urls(replicas), alice_key(replicas[0]), fake_upstream)


def assert_limits_hold(anthropic_urls: list[str], key: str, fake: FakeUpstream, limit: str) -> None:
    """Quota 500 input tokens, or budget $0.005: 175-token calls at once do not pass it by more than one call."""
    fake.configure(usage=USAGE, headers_delay=0.5)
    responses = fire_at_once(anthropic_urls, key, CALLS)
    passed = statuses(responses).get(200, 0)
    assert passed >= 2, statuses(responses)
    if limit == "quota":
        assert passed * INPUT_PER_CALL <= 500 + INPUT_PER_CALL, statuses(responses)
    else:
        assert passed * COST_PER_CALL <= 0.005 + COST_PER_CALL, statuses(responses)
    refused = [r for r in responses if r.status_code == 429]
    assert refused and all(int(r.headers["retry-after"]) >= 1 for r in refused)
    assert all(r.json()["error"]["message"].startswith(REFUSED_BY[limit]) for r in refused)


def assert_concurrency_holds(anthropic_urls: list[str], key: str, fake: FakeUpstream) -> None:
    fake.configure(usage=USAGE, headers_delay=HELD_SECONDS)
    responses = fire_at_once(anthropic_urls, key, 20)
    assert statuses(responses) == {200: 3, 429: 17}
    fake.configure(headers_delay=0.0)
    assert [r.status_code for r in fire_at_once(anthropic_urls, key, 3)] == [200] * 3
