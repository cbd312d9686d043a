"""GET /api/setup: each step of a gateway's setup counts only once the proxy would act on it."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlmodel import Session

from gateway_api.db.models import UsageRecord
from tests.api.helpers import make_user, user_with_headers
from tests.support.usage_writes import insert_usage


def status_of(client: TestClient, headers: dict) -> dict:
    response = client.get("/api/setup", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_fresh_gateway_has_every_step_ahead(api_client: TestClient, admin_headers: dict) -> None:
    assert status_of(api_client, admin_headers) == {
        "providers": 0,
        "providers_with_credential": 0,
        "active_models": 0,
        "policies": 0,
        "policies_granting": 0,
        "users_with_access": 0,
        "first_call_at": None,
    }


def test_steps_tick_as_the_proxy_would_see_them(api_client: TestClient, admin_headers: dict) -> None:
    provider = api_client.post(
        "/api/providers", json={"name": "anthropic", "kind": "anthropic"}, headers=admin_headers
    ).json()
    model = api_client.post(
        "/api/models", json={"provider_id": provider["id"], "name": "claude-opus-4-8"}, headers=admin_headers
    ).json()
    api_client.post("/api/groups", json={"name": "eng"}, headers=admin_headers)
    api_client.post("/api/policies", json={"name": "eng", "subjects": ["group:eng"], "models": ["claude-*"]},
                    headers=admin_headers)  # fmt: skip
    api_client.post("/api/policies", json={"name": "future", "subjects": ["*"], "models": ["gpt-*"]},
                    headers=admin_headers)  # fmt: skip
    make_user(api_client, admin_headers, "dev@example.com", groups=["eng"])
    gone = make_user(api_client, admin_headers, "gone@example.com", groups=["eng"])
    api_client.delete(f"/api/users/{gone['id']}", headers=admin_headers)

    no_credential = status_of(api_client, admin_headers)
    # Without a credential nothing is callable, so no policy grants anything yet.
    assert (no_credential["providers"], no_credential["providers_with_credential"]) == (1, 0)
    assert (no_credential["active_models"], no_credential["policies"], no_credential["policies_granting"]) == (0, 2, 0)
    assert no_credential["users_with_access"] == 0

    api_client.patch(f"/api/providers/{provider['id']}", json={"credential": "sk-ant-0001"}, headers=admin_headers)
    ready = status_of(api_client, admin_headers)
    assert (ready["providers_with_credential"], ready["active_models"], ready["policies_granting"]) == (1, 1, 1)
    assert ready["users_with_access"] == 1, "dev only: gone is deactivated, the admin is in no granting policy"

    api_client.patch(f"/api/models/{model['id']}", json={"active": False}, headers=admin_headers)
    assert status_of(api_client, admin_headers)["users_with_access"] == 0, "an inactive model cannot be called"


def test_the_first_call_is_the_earliest_record(api_client: TestClient, admin_headers: dict) -> None:
    first = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    with Session(api_client.app.services.engine) as session:  # type: ignore[attr-defined]
        insert_usage(
            session,
            [
                UsageRecord(created_at=when, provider="a", provider_kind="anthropic", model="m", endpoint="messages")
                for when in (datetime(2026, 5, 2, tzinfo=UTC), first)
            ],
        )
        session.commit()
    assert datetime.fromisoformat(status_of(api_client, admin_headers)["first_call_at"]) == first


def test_only_admins_see_the_setup(api_client: TestClient, admin_headers: dict) -> None:
    _, headers = user_with_headers(api_client, admin_headers, "dev@example.com")
    assert api_client.get("/api/setup", headers=headers).status_code == 403
    assert api_client.get("/api/setup").status_code == 401
