"""Behind a reverse proxy listed in GATEWAY_TRUSTED_PROXIES, throttles key on the address it forwards (issue 15):
one client's failures lock out that client only, and what the client itself writes in X-Forwarded-For is not
believed. Real HTTP against a live gateway; the test's loopback address plays the proxy."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gateway_api.core.settings import Settings
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.support.live import LiveGateway, start_live_gateway


@pytest.fixture
def behind_proxy(settings: Settings) -> Iterator[LiveGateway]:
    yield from start_live_gateway(settings.model_copy(update={"trusted_proxies": "127.0.0.1/32, 10.9.0.0/16"}))


def sign_in(gateway: LiveGateway, forwarded_for: str, password: str) -> int:
    return httpx.post(
        f"{gateway.url}/api/auth/login",
        json={"email": ADMIN_EMAIL, "password": password},
        headers={"X-Forwarded-For": forwarded_for},
        timeout=30,
    ).status_code


def test_one_clients_failures_do_not_lock_out_another(behind_proxy: LiveGateway) -> None:
    attacker = "203.0.113.7"
    assert [sign_in(behind_proxy, attacker, "guess") for _ in range(5)] == [401] * 5
    assert sign_in(behind_proxy, attacker, ADMIN_PASSWORD) == 429
    # The attacker's own entries sit left of what the proxy appended: rotating them changes nothing.
    assert sign_in(behind_proxy, f"198.51.100.1, {attacker}", ADMIN_PASSWORD) == 429
    # Another client, through two trusted proxies, signs in.
    assert sign_in(behind_proxy, "198.51.100.2, 10.9.3.4", ADMIN_PASSWORD) == 200


def test_key_guessing_on_the_proxy_keys_on_the_forwarded_address(behind_proxy: LiveGateway) -> None:
    def guess(forwarded_for: str, n: int) -> int:
        return httpx.get(
            f"{behind_proxy.url}/api/llm-proxy/anthropic/v1/models",
            headers={"x-api-key": f"gwk_{'x' * 40}{n:03d}", "X-Forwarded-For": forwarded_for},
            timeout=30,
        ).status_code

    assert [guess("203.0.113.8", n) for n in range(5)] == [401] * 5
    assert guess("203.0.113.8", 99) == 429
    assert guess("198.51.100.3", 99) == 401, "another client is not throttled"
