"""The UI's API client against the real gateway on a loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from gateway_api.core.settings import Settings
from gateway_ui.api import API_URL_ENV, ApiError, GatewayApi, api_base_url
from gateway_ui.api.browser_hop import BrowserHop
from gateway_ui.state.auth import safe_next_path
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.support.live import LiveGateway, free_port


@pytest_asyncio.fixture
async def api(live_gateway: LiveGateway) -> AsyncIterator[GatewayApi]:
    api = GatewayApi(live_gateway.url)
    yield api
    await api.aclose()


@pytest.mark.asyncio
async def test_login_current_user_and_logout(api: GatewayApi) -> None:
    token = await api.login(ADMIN_EMAIL, ADMIN_PASSWORD)

    user = await api.as_user(token).current_user()
    assert (user.email, user.role, user.is_admin) == (ADMIN_EMAIL, "admin", True)

    await api.as_user(token).logout()
    with pytest.raises(ApiError) as revoked:
        await api.as_user(token).current_user()
    assert revoked.value.is_unauthorized


@pytest.mark.asyncio
async def test_wrong_password_raises_the_api_message(api: GatewayApi) -> None:
    with pytest.raises(ApiError) as failure:
        await api.login(ADMIN_EMAIL, "not-the-password")

    assert failure.value.status_code == 401
    assert failure.value.message == "wrong email or password"


@pytest.mark.asyncio
async def test_failed_sign_ins_are_throttled_per_browser_address(live_gateway: LiveGateway, settings: Settings) -> None:
    """The UI vouches for the browser's address with a seal keyed with the secret key (issue 15)."""
    api = GatewayApi(live_gateway.url, browser_hop=BrowserHop(lambda: settings))
    for _ in range(5):
        with pytest.raises(ApiError):
            await api.login(ADMIN_EMAIL, "not-the-password", peer="203.0.113.9")
    with pytest.raises(ApiError) as throttled:
        await api.login(ADMIN_EMAIL, ADMIN_PASSWORD, peer="203.0.113.9")
    assert throttled.value.status_code == 429
    assert await api.login(ADMIN_EMAIL, ADMIN_PASSWORD, peer="198.51.100.4")
    # The browser's own X-Forwarded-For is not believed: its websocket peer is no trusted proxy.
    with pytest.raises(ApiError) as rotated:
        await api.login(ADMIN_EMAIL, ADMIN_PASSWORD, peer="203.0.113.9", forwarded_for="192.0.2.1")
    assert rotated.value.status_code == 429

    # A seal made without the secret key vouches for nothing: the API sees this process, which is not throttled.
    forger = GatewayApi(
        live_gateway.url,
        browser_hop=BrowserHop(lambda: settings.model_copy(update={"secret_key": "not-the-gateways-secret-key-42"})),
    )
    assert await forger.login(ADMIN_EMAIL, ADMIN_PASSWORD, peer="203.0.113.9")
    for _ in range(5):
        with pytest.raises(ApiError):
            await forger.login(ADMIN_EMAIL, "not-the-password", peer=f"198.51.100.{_ + 10}")
    with pytest.raises(ApiError) as everyone_here:
        await forger.login(ADMIN_EMAIL, ADMIN_PASSWORD, peer="198.51.100.99")
    assert everyone_here.value.status_code == 429, "forged seals all count as this process's address"
    await api.aclose()
    await forger.aclose()


@pytest.mark.asyncio
async def test_unreachable_api_is_a_503_with_a_readable_message() -> None:
    api = GatewayApi(f"http://127.0.0.1:{free_port()}")

    with pytest.raises(ApiError) as failure:
        await api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    await api.aclose()

    assert failure.value.status_code == 503
    assert "unreachable" in failure.value.message


def test_api_base_url_defaults_to_the_same_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(API_URL_ENV, raising=False)

    assert api_base_url() == "http://127.0.0.1:8080"


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ("/llm-gateway/usage?days=7", "/llm-gateway/usage?days=7"),
        ("/", "/"),
        ("//evil.example/phish", "/"),
        ("https://evil.example/", "/"),
        ("/login", "/"),
        ("", "/"),
    ],
)
def test_after_login_only_own_pages_are_followed(requested: str, expected: str) -> None:
    assert safe_next_path(requested) == expected
