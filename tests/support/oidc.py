"""A real OpenID Connect provider for the tests: `oidc-provider-mock` run as its own process on a loopback port.

Tests choose each user's claims (`set_user`), then either drive its authorization form in Chromium or post the form
directly (`authorize`), exactly as a person choosing an account would.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from gateway_api.core.settings import Settings
from tests.support.live import LiveGateway, free_port, start_live_gateway

START_TIMEOUT_SECONDS = 30.0


@dataclass
class IdentityProvider:
    url: str
    process: subprocess.Popen[bytes]

    def set_user(self, sub: str, **claims: Any) -> None:
        response = httpx.put(f"{self.url}/users/{quote(sub, safe='')}", json=claims, timeout=10)
        assert response.status_code == 204, response.text

    def authorize(self, authorization_url: str, sub: str) -> str:
        """Choose `sub` on the provider's form; returns where the provider sends the browser back."""
        response = httpx.post(authorization_url, data={"sub": sub}, timeout=10)
        assert response.status_code == 302, response.text
        return response.headers["location"]


def start_identity_provider(log_path: Path) -> Iterator[IdentityProvider]:
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    provider = IdentityProvider(url=f"http://127.0.0.1:{port}", process=process)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    try:
        while True:
            try:
                if httpx.get(f"{provider.url}/.well-known/openid-configuration", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"oidc-provider-mock did not start:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.1)
        yield provider
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="session")
def identity_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IdentityProvider]:
    """One provider process for the whole session (each test uses its own user names)."""
    yield from start_identity_provider(tmp_path_factory.mktemp("idp") / "idp.log")


SSO_CLIENT_ID = "llm-gateway"
ADMIN_GROUP = "gateway-admins"


@dataclass
class SsoGateway:
    """A live gateway signed into by the identity provider; `browser()` is a client that keeps cookies."""

    url: str
    live: LiveGateway
    idp: IdentityProvider

    def browser(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, follow_redirects=False)

    def callback_for(self, browser: httpx.Client, sub: str, start: str = "/api/auth/oidc/start") -> httpx.Response:
        """Start a sign-in in `browser`, choose `sub` at the provider and follow it back to the callback."""
        started = browser.get(start)
        assert started.status_code == 302, started.text
        return browser.get(self.idp.authorize(started.headers["location"], sub))

    def sign_in(self, sub: str, browser: httpx.Client | None = None) -> str:
        """The web flow to its end: the ui key the sign-in page would get."""
        browser = browser or self.browser()
        finished = self.callback_for(browser, sub)
        assert finished.status_code == 303, finished.text
        code = finished.headers["location"].split("#sso=", 1)[1]
        exchanged = browser.post("/api/auth/oidc/exchange", json={"code": code})
        assert exchanged.status_code == 200, exchanged.text
        return str(exchanged.json()["token"])


def sso_settings(settings: Settings, idp: IdentityProvider, port: int, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "public_url": f"http://127.0.0.1:{port}",
        "oidc_issuer": idp.url,
        "oidc_client_id": SSO_CLIENT_ID,
        "oidc_client_secret": "sso-client-secret",
        "oidc_admin_groups": ADMIN_GROUP,
    }
    values.update(overrides)
    return Settings(**{**settings.model_dump(), **values})  # type: ignore[arg-type]


@pytest.fixture
def sso_gateway_factory(settings: Settings, identity_provider: IdentityProvider) -> Iterator[Callable[..., SsoGateway]]:
    """Start a live gateway with single sign-on on (settings overridable per test)."""
    running: list[Iterator[LiveGateway]] = []

    def start(**overrides: object) -> SsoGateway:
        port = free_port()
        gateway = start_live_gateway(sso_settings(settings, identity_provider, port, **overrides), port)
        running.append(gateway)
        live = next(gateway)
        return SsoGateway(url=live.url, live=live, idp=identity_provider)

    yield start
    for gateway in running:
        for _ in gateway:
            pass


@pytest.fixture
def sso_gateway(sso_gateway_factory: Callable[..., SsoGateway]) -> SsoGateway:
    return sso_gateway_factory()


@pytest.fixture
def admin_token_for() -> Callable[[SsoGateway], dict[str, str]]:
    """The test admin's ui key on a gateway, as headers."""
    from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD

    def headers(gateway: SsoGateway) -> dict[str, str]:
        return {"Authorization": f"Bearer {gateway.live.login(ADMIN_EMAIL, ADMIN_PASSWORD)}"}

    return headers
