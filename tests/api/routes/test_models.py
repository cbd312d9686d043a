"""Models: shipped default prices, admin overrides, filters, uniqueness, admin-only."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.helpers import audit_events, detail_message, user_with_headers


def make_provider(client: TestClient, headers: dict, name: str = "anthropic", kind: str = "anthropic") -> int:
    response = client.post("/api/providers", json={"name": name, "kind": kind}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_create_uses_shipped_prices_unless_given(api_client: TestClient, admin_headers: dict) -> None:
    provider_id = make_provider(api_client, admin_headers)
    shipped = api_client.post(
        "/api/models", json={"provider_id": provider_id, "name": "claude-sonnet-4-5-20250929"}, headers=admin_headers
    ).json()
    assert (
        shipped["price_input"],
        shipped["price_output"],
        shipped["price_cache_read"],
        shipped["price_cache_write"],
    ) == (
        3.0,
        15.0,
        0.3,
        3.75,
    )
    assert shipped["display_name"] == "claude-sonnet-4-5-20250929" and shipped["active"] is True
    overridden = api_client.post(
        "/api/models",
        json={"provider_id": provider_id, "name": "claude-haiku-4-5", "price_input": 2.0, "display_name": "Haiku"},
        headers=admin_headers,
    ).json()
    assert overridden["price_input"] == 2.0 and overridden["price_output"] == 5.0
    unknown = api_client.post(
        "/api/models", json={"provider_id": provider_id, "name": "team/custom-model"}, headers=admin_headers
    ).json()
    assert unknown["price_input"] is None, "no shipped price: unknown, not zero"


def test_update_and_delete(api_client: TestClient, admin_headers: dict) -> None:
    provider_id = make_provider(api_client, admin_headers)
    model = api_client.post(
        "/api/models", json={"provider_id": provider_id, "name": "claude-haiku-4-5"}, headers=admin_headers
    ).json()
    url = f"/api/models/{model['id']}"
    changed = api_client.patch(
        url, json={"active": False, "display_name": "Haiku", "price_output": 9.5}, headers=admin_headers
    ).json()
    assert (changed["active"], changed["display_name"], changed["price_output"], changed["price_input"]) == (
        False,
        "Haiku",
        9.5,
        1.0,
    )
    reset = api_client.patch(url, json={"reset_prices": True}, headers=admin_headers).json()
    assert reset["price_output"] == 5.0
    assert api_client.get(url, headers=admin_headers).json()["display_name"] == "Haiku"
    assert api_client.delete(url, headers=admin_headers).status_code == 200
    assert api_client.get(url, headers=admin_headers).status_code == 404
    assert api_client.patch(url, json={"active": True}, headers=admin_headers).status_code == 404
    actions = [e["action"] for e in audit_events(api_client, admin_headers, action="model.")]
    assert actions == ["model.delete", "model.update", "model.update", "model.create"]


def test_list_filters(api_client: TestClient, admin_headers: dict) -> None:
    anthropic = make_provider(api_client, admin_headers)
    openai = make_provider(api_client, admin_headers, "openai", "openai")
    for provider_id, name, active in [
        (anthropic, "claude-haiku-4-5", True),
        (anthropic, "claude-opus-4-1", False),
        (openai, "gpt-5", True),
        (openai, "gpt-5-mini", True),
    ]:
        response = api_client.post(
            "/api/models", json={"provider_id": provider_id, "name": name, "active": active}, headers=admin_headers
        )
        assert response.status_code == 201

    def names(**params: object) -> list[str]:
        body = api_client.get("/api/models", params=params, headers=admin_headers).json()
        assert body["count"] == len(body["data"])
        return [m["name"] for m in body["data"]]

    assert names() == ["claude-haiku-4-5", "claude-opus-4-1", "gpt-5", "gpt-5-mini"]
    assert names(provider_id=openai) == ["gpt-5", "gpt-5-mini"]
    assert names(active=False) == ["claude-opus-4-1"]
    assert names(q="MINI") == ["gpt-5-mini"]
    assert names(q="gpt", active=True, provider_id=anthropic) == []


def test_refusals(api_client: TestClient, admin_headers: dict) -> None:
    provider_id = make_provider(api_client, admin_headers)
    body = {"provider_id": provider_id, "name": "claude-haiku-4-5"}
    assert api_client.post("/api/models", json=body, headers=admin_headers).status_code == 201
    assert api_client.post("/api/models", json=body, headers=admin_headers).status_code == 409
    missing = api_client.post("/api/models", json={"provider_id": 999, "name": "x"}, headers=admin_headers)
    assert missing.status_code == 422 and detail_message(missing).startswith("provider_id:")
    negative = api_client.post(
        "/api/models", json={"provider_id": provider_id, "name": "y", "price_input": -1}, headers=admin_headers
    )
    assert negative.status_code == 422 and detail_message(negative).startswith("price_input:")
    spaced = api_client.post("/api/models", json={"provider_id": provider_id, "name": "a<b"}, headers=admin_headers)
    assert spaced.status_code == 422 and detail_message(spaced).startswith("name:")
    assert api_client.get("/api/models").status_code == 401
    _, user_headers = user_with_headers(api_client, admin_headers, "user@example.com")
    assert api_client.get("/api/models", headers=user_headers).status_code == 403
    assert api_client.post("/api/models", json=body, headers=user_headers).status_code == 403
