"""GET /api/me/models: the granted, active models of configured providers, per provider, Anthropic first."""

from __future__ import annotations

from fastapi.testclient import TestClient

from gateway_api.app import create_asgi_app
from gateway_api.core.settings import Settings
from tests.api.helpers import user_with_headers
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD


def add_provider(
    client: TestClient, headers: dict, kind: str, credential: str | None, models: list[tuple[str, bool]]
) -> int:
    body = {"name": kind, "kind": kind} | ({"credential": credential} if credential else {})
    provider_id = client.post("/api/providers", json=body, headers=headers).json()["id"]
    for name, active in models:
        response = client.post(
            "/api/models",
            json={"provider_id": provider_id, "name": name, "active": active, "display_name": name.upper()},
            headers=headers,
        )
        assert response.status_code == 201, response.text
    return provider_id


def test_my_models_lists_grants_per_provider(api_client: TestClient, admin_headers: dict) -> None:
    add_provider(api_client, admin_headers, "openai", "sk-openai-key-0001", [("gpt-5", True), ("gpt-5-mini", True)])
    anthropic = add_provider(
        api_client, admin_headers, "anthropic", "sk-ant-key-0002", [("claude-haiku-4-5", True), ("claude-old", False)]
    )
    _, headers = user_with_headers(api_client, admin_headers, "dev@example.com")
    api_client.post(
        "/api/policies",
        json={"name": "dev", "subjects": ["user:dev@example.com"], "models": ["claude-*", "gpt-5"]},
        headers=admin_headers,
    )
    body = api_client.get("/api/me/models", headers=headers).json()
    assert body == {
        "public_url": "http://gateway.test",
        "public_url_configured": True,
        "providers": [
            {
                "kind": "anthropic",
                "base_url": "http://gateway.test/api/llm-proxy/anthropic",
                "models": [{"name": "claude-haiku-4-5", "display_name": "CLAUDE-HAIKU-4-5", "provider": "anthropic"}],
            },
            {
                "kind": "openai",
                "base_url": "http://gateway.test/api/llm-proxy/openai",
                "models": [{"name": "gpt-5", "display_name": "GPT-5", "provider": "openai"}],
            },
        ],
    }
    api_client.patch(f"/api/providers/{anthropic}", json={"credential": None}, headers=admin_headers)
    kinds = [p["kind"] for p in api_client.get("/api/me/models", headers=headers).json()["providers"]]
    assert kinds == ["openai"], "a provider without a credential offers nothing"
    assert api_client.get("/api/me/models").status_code == 401


def test_without_a_public_url_the_base_urls_follow_the_address_the_caller_used(settings: Settings) -> None:
    """GATEWAY_PUBLIC_URL unset (the default): a gateway on any port or host name shows the address it was reached at."""
    unset = settings.model_copy(update={"public_url": ""})
    with TestClient(create_asgi_app(unset), base_url="http://gw.internal:8095") as client:
        token = client.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        add_provider(client, headers, "openai", "sk-openai-key-0001", [("gpt-5.5", True)])
        client.post("/api/policies", json={"name": "all", "subjects": ["*"], "models": ["*"]}, headers=headers)

        body = client.get("/api/me/models", headers=headers).json()

    assert (body["public_url"], body["public_url_configured"]) == ("http://gw.internal:8095", False)
    assert [p["base_url"] for p in body["providers"]] == ["http://gw.internal:8095/api/llm-proxy/openai"]
