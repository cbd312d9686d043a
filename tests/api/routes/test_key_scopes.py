"""Scopes mean what they say (issue 15): llm keys open the proxy only, ui and api keys the REST API only; only
admins mint keys that never expire. Real HTTP against a live gateway wired to the fake upstream."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient

from gateway_api.app import create_asgi_app
from gateway_api.core.settings import Settings
from tests.api.helpers import USER_PASSWORD, make_user
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.proxy.conftest import ALICE, SONNET, ProxyEnv, gateway_config
from tests.support.fakes.upstream import FakeUpstream
from tests.support.live import start_live_gateway

TIMEOUT = 30


@pytest.fixture
def env(settings: Settings, fake_upstream: FakeUpstream, tmp_path: Path) -> Iterator[ProxyEnv]:
    """The live gateway wired to the fake upstream (the proxy tests' set-up: providers, models, users, policies)."""
    config_path = tmp_path / "gateway.yaml"
    config_path.write_text(yaml.safe_dump(gateway_config(fake_upstream)))
    for live in start_live_gateway(settings.model_copy(update={"config": config_path})):
        yield ProxyEnv(live=live, fake=fake_upstream)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def login(env: ProxyEnv, email: str, password: str, **wish: object) -> httpx.Response:
    return httpx.post(
        f"{env.live.url}/api/auth/login", json={"email": email, "password": password, **wish}, timeout=TIMEOUT
    )


def model_call(env: ProxyEnv, key: str) -> httpx.Response:
    return httpx.post(
        f"{env.anthropic_url}/v1/messages",
        json={"model": SONNET, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]},
        headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
        timeout=TIMEOUT,
    )


def test_an_admins_llm_key_is_no_admin_credential(env: ProxyEnv) -> None:
    url = env.live.url
    llm_key = login(env, ADMIN_EMAIL, ADMIN_PASSWORD, scope="llm").json()["token"]
    session = bearer(login(env, ADMIN_EMAIL, ADMIN_PASSWORD).json()["token"])
    [provider] = [
        p for p in httpx.get(f"{url}/api/providers", headers=session).json()["data"] if p["name"] == "anthropic"
    ]

    hijack = httpx.patch(
        f"{url}/api/providers/{provider['id']}", json={"base_url": "http://127.0.0.1:9"}, headers=bearer(llm_key)
    )
    assert hijack.status_code == 403 and "api" in hijack.json()["detail"]
    minted = httpx.post(f"{url}/api/keys", json={"scope": "api", "no_expiration": True}, headers=bearer(llm_key))
    assert minted.status_code == 403
    assert httpx.post(f"{url}/api/providers/{provider['id']}/test", headers=bearer(llm_key)).status_code == 403
    assert httpx.get(f"{url}/api/me", headers=bearer(llm_key)).status_code == 403
    # The key may still look at itself (what `gateway login` checks).
    itself = httpx.get(f"{url}/api/auth/key", headers=bearer(llm_key))
    assert itself.status_code == 200 and itself.json()["scopes"] == ["llm"]
    unchanged = httpx.get(f"{url}/api/providers/{provider['id']}", headers=session).json()
    assert unchanged["base_url"] == provider["base_url"]


def test_api_keys_are_for_automation_and_the_proxy_takes_only_llm(env: ProxyEnv) -> None:
    url = env.live.url
    admin = bearer(login(env, ADMIN_EMAIL, ADMIN_PASSWORD).json()["token"])
    make_user(httpx.Client(base_url=url, timeout=TIMEOUT), admin, "automation@example.com")  # type: ignore[arg-type]
    ui_session = login(env, "automation@example.com", USER_PASSWORD).json()["token"]

    created = httpx.post(f"{url}/api/keys", json={"name": "ci", "scope": "api"}, headers=bearer(ui_session))
    assert created.status_code == 201 and created.json()["scopes"] == ["api"]
    api_key = created.json()["secret"]
    me = httpx.get(f"{url}/api/me", headers=bearer(api_key))
    assert me.status_code == 200 and me.json()["email"] == "automation@example.com"
    assert httpx.get(f"{url}/api/users", headers=bearer(api_key)).status_code == 403, "a user's key, a user's rights"
    from_login = login(env, "automation@example.com", USER_PASSWORD, scope="api").json()
    assert from_login["scope"] == "api"

    for key in (api_key, ui_session, from_login["token"], env.issue_key(ALICE, scopes=frozenset({"api"}))):  # type: ignore[arg-type]
        refused = model_call(env, key)
        assert refused.status_code == 403 and "llm scope" in refused.text
    assert model_call(env, env.issue_key(ALICE)).status_code == 200


def test_the_key_api_mints_no_browser_sessions(api_client: TestClient, admin_headers: dict[str, str]) -> None:
    refused = api_client.post("/api/keys", json={"scope": "ui"}, headers=admin_headers)
    assert refused.status_code == 403 and "signing in" in refused.json()["detail"]


def test_only_admins_mint_keys_that_never_expire(api_client: TestClient, admin_headers: dict[str, str]) -> None:
    make_user(api_client, admin_headers, "dev@example.com")
    user_session = api_client.post("/api/auth/login", json={"email": "dev@example.com", "password": USER_PASSWORD})
    headers = bearer(user_session.json()["token"])

    assert api_client.post("/api/keys", json={"no_expiration": True}, headers=headers).status_code == 403
    forever_session = {"email": "dev@example.com", "password": USER_PASSWORD, "no_expiration": True}
    assert api_client.post("/api/auth/login", json=forever_session).status_code == 403
    assert api_client.post("/api/auth/login", json={**forever_session, "scope": "llm"}).status_code == 403
    admins = api_client.post("/api/keys", json={"no_expiration": True}, headers=admin_headers)
    assert admins.status_code == 201 and admins.json()["expires_at"] is None


def test_non_expiring_keys_for_users_when_allowed(settings: Settings) -> None:
    allowed = settings.model_copy(update={"allow_user_non_expiring_keys": True})
    with TestClient(create_asgi_app(allowed)) as client:
        admin = bearer(
            client.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).json()["token"]
        )
        make_user(client, admin, "dev@example.com")
        headers = bearer(
            client.post("/api/auth/login", json={"email": "dev@example.com", "password": USER_PASSWORD}).json()["token"]
        )
        forever = client.post("/api/keys", json={"no_expiration": True}, headers=headers)
        assert forever.status_code == 201 and forever.json()["expires_at"] is None


@pytest.mark.parametrize("scope", ["ui", "api"])
def test_rest_scopes_cannot_call_models_even_for_admins(env: ProxyEnv, scope: str) -> None:
    key = login(env, ADMIN_EMAIL, ADMIN_PASSWORD, scope=scope).json()["token"]
    assert model_call(env, key).status_code == 403
