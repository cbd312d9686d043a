"""The UI's API client against the real gateway on a loopback port."""

from __future__ import annotations

import pytest

from gateway_ui import api_client
from gateway_ui.state.auth import safe_next_path
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.support.live import LiveGateway, free_port


@pytest.fixture
def gateway_url(live_gateway: LiveGateway, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(api_client.API_URL_ENV, live_gateway.url)
    return live_gateway.url


@pytest.mark.asyncio
async def test_login_current_user_and_logout(gateway_url: str) -> None:
    token = await api_client.login(ADMIN_EMAIL, ADMIN_PASSWORD)

    user = await api_client.current_user(token)
    assert (user.email, user.role, user.is_admin) == (ADMIN_EMAIL, "admin", True)

    await api_client.logout(token)
    with pytest.raises(api_client.ApiError) as revoked:
        await api_client.current_user(token)
    assert revoked.value.is_unauthorized


@pytest.mark.asyncio
async def test_wrong_password_raises_the_api_message(gateway_url: str) -> None:
    with pytest.raises(api_client.ApiError) as failure:
        await api_client.login(ADMIN_EMAIL, "not-the-password")

    assert failure.value.status_code == 401
    assert failure.value.message == "wrong email or password"


@pytest.mark.asyncio
async def test_failed_sign_ins_are_throttled_per_browser_address(gateway_url: str) -> None:
    for _ in range(5):
        with pytest.raises(api_client.ApiError):
            await api_client.login(ADMIN_EMAIL, "not-the-password", client_ip="203.0.113.9")
    with pytest.raises(api_client.ApiError) as throttled:
        await api_client.login(ADMIN_EMAIL, ADMIN_PASSWORD, client_ip="203.0.113.9")
    assert throttled.value.status_code == 429

    assert await api_client.login(ADMIN_EMAIL, ADMIN_PASSWORD, client_ip="198.51.100.4")


@pytest.mark.asyncio
async def test_unreachable_api_is_a_503_with_a_readable_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(api_client.API_URL_ENV, f"http://127.0.0.1:{free_port()}")

    with pytest.raises(api_client.ApiError) as failure:
        await api_client.login(ADMIN_EMAIL, ADMIN_PASSWORD)

    assert failure.value.status_code == 503
    assert "unreachable" in failure.value.message


def test_api_base_url_defaults_to_the_same_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(api_client.API_URL_ENV, raising=False)

    assert api_client.api_base_url() == "http://127.0.0.1:8080"


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
