"""Single sign-on under attack and failure: 64 racing redemptions, replays, a provider that is down, the database
going away mid-sign-in, a caller starting sign-ins in a loop, a CLI polling too fast."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_URL
from tests.support.live import free_port
from tests.support.oidc import SsoGateway
from tests.support.tcp_relay import TcpRelay

RACERS = 64


def test_64_racing_redemptions_of_one_code_give_exactly_one_session(sso_gateway: SsoGateway) -> None:
    sso_gateway.idp.set_user("race-1", email="race1@example.com")
    finished = sso_gateway.callback_for(sso_gateway.browser(), "race-1")
    code = finished.headers["location"].split("#sso=", 1)[1]

    def redeem(_: int) -> int:
        with httpx.Client(base_url=sso_gateway.url, timeout=60) as client:
            return client.post("/api/auth/oidc/exchange", json={"code": code}).status_code

    with ThreadPoolExecutor(RACERS) as pool:
        statuses = list(pool.map(redeem, range(RACERS)))
    assert statuses.count(200) == 1, statuses
    assert set(statuses) <= {200, 401, 429}


def test_64_racing_replays_of_one_callback_sign_in_once(sso_gateway: SsoGateway) -> None:
    sso_gateway.idp.set_user("race-2", email="race2@example.com")
    browser = sso_gateway.browser()
    started = browser.get("/api/auth/oidc/start")
    back = sso_gateway.idp.authorize(started.headers["location"], "race-2")
    cookies = dict(browser.cookies)

    def replay(_: int) -> int:
        with httpx.Client(timeout=60, cookies=cookies) as client:
            return client.get(back).status_code

    with ThreadPoolExecutor(RACERS) as pool:
        statuses = list(pool.map(replay, range(RACERS)))
    assert statuses.count(303) == 1, statuses
    assert set(statuses) <= {303, 400, 429}


def test_a_provider_that_is_down_gets_a_clear_page(sso_gateway_factory: Callable[..., SsoGateway]) -> None:
    gateway = sso_gateway_factory(oidc_issuer=f"http://127.0.0.1:{free_port()}")
    refused = gateway.browser().get("/api/auth/oidc/start")
    assert refused.status_code == 502
    assert "discovery cannot be fetched" in refused.text


def test_starting_sign_ins_in_a_loop_is_throttled(sso_gateway: SsoGateway) -> None:
    browser = sso_gateway.browser()
    statuses = [browser.get("/api/auth/oidc/start").status_code for _ in range(25)]
    assert statuses[:20] == [302] * 20 and set(statuses[20:]) == {429}
    # A peer that is no trusted proxy (GATEWAY_TRUSTED_PROXIES) cannot claim another address (issue 15); behind a
    # trusted proxy other clients are not held back (tests/api/routes/test_trusted_proxies.py).
    other = browser.get("/api/auth/oidc/start", headers={"X-Forwarded-For": "198.51.100.9"})
    assert other.status_code == 429


def test_a_cli_polling_too_fast_is_told_to_slow_down(sso_gateway: SsoGateway) -> None:
    with httpx.Client(base_url=sso_gateway.url, timeout=30) as client:
        grant = client.post("/api/auth/device/code").json()
        assert len(grant["device_code"]) >= 40 and grant["user_code"][4] == "-"
        first = client.post("/api/auth/device/token", json={"device_code": grant["device_code"]})
        second = client.post("/api/auth/device/token", json={"device_code": grant["device_code"]})
        unknown = client.post("/api/auth/device/token", json={"device_code": "not-a-device-code"})
    assert (first.status_code, first.json()["detail"]) == (400, "authorization_pending")
    assert (second.status_code, second.json()["detail"]) == (400, "slow_down")
    assert (unknown.status_code, unknown.json()["detail"]) == (400, "expired_token")
    with httpx.Client(base_url=sso_gateway.url, timeout=30) as client:
        guesses = [client.post("/api/auth/device/token", json={"device_code": f"guess-{n}"}) for n in range(6)]
    assert guesses[-1].status_code == 429, [g.status_code for g in guesses]


@pytest.mark.skipif(not POSTGRES_URL, reason="GATEWAY_TEST_DATABASE_URL is not set")
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_database_going_away_mid_sign_in_gets_a_clear_page_and_nothing_half_done(
    sso_gateway_factory: Callable[..., SsoGateway], database_url: str
) -> None:
    url = make_url(database_url)
    relay = TcpRelay(url.host or "127.0.0.1", url.port or 5432)
    relay.start()
    relayed = url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    try:
        gateway = sso_gateway_factory(database_url=relayed)
        gateway.idp.set_user("outage-1", email="outage@example.com", groups=["eng"])
        browser = gateway.browser()
        started = browser.get("/api/auth/oidc/start")
        back = gateway.idp.authorize(started.headers["location"], "outage-1")

        relay.stop()
        down = browser.get(back)
        assert down.status_code == 503 and "cannot reach its database" in down.text
        assert browser.get("/api/auth/oidc/start").status_code == 503

        relay.start()
        # The callback that failed did not spend its state: the same answer now signs in.
        assert browser.get(back).status_code == 303
        assert gateway.sign_in("outage-1")
    finally:
        relay.close()
