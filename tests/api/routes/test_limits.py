"""Limit overrides through the REST API: who may read and set them, validation, audit, what applies."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from gateway_api.core.settings import Settings
from tests.api.helpers import audit_events, detail_message, user_with_headers

EMPTY = {
    "input_token_quota": None,
    "output_token_quota": None,
    "requests_per_minute": None,
    "daily_budget_usd": None,
    "monthly_budget_usd": None,
    "max_concurrent_calls": None,
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Defaults for every non-admin user: 1000 input tokens per 24 h and 10 USD a day."""
    return settings.model_copy(update={"default_input_token_quota": 1000, "default_daily_budget_usd": 10.0})


def effective(body: dict) -> dict[str, tuple[float | None, str | None]]:
    return {item["kind"]: (item["limit"], item["source"]) for item in body["effective"]}


def test_admin_sets_a_users_limits_and_the_rest_come_from_the_defaults(
    api_client: TestClient, admin_headers: dict
) -> None:
    user, _ = user_with_headers(api_client, admin_headers, "dev@example.com")
    url = f"/api/users/{user['id']}/limits"
    before = api_client.get(url, headers=admin_headers).json()
    assert before["overrides"] == EMPTY and before["token_window_hours"] == 24
    assert effective(before)["input_token_quota"] == (1000, "default")

    response = api_client.put(url, json={"requests_per_minute": 5, "input_token_quota": 50}, headers=admin_headers)

    assert response.status_code == 200, response.text
    assert response.json()["overrides"] == {**EMPTY, "requests_per_minute": 5, "input_token_quota": 50}
    assert effective(response.json()) == {
        "input_token_quota": (50, "user"),
        "output_token_quota": (None, None),
        "requests_per_minute": (5, "user"),
        "daily_budget_usd": (10.0, "default"),
        "monthly_budget_usd": (None, None),
        "max_concurrent_calls": (None, None),
    }
    assert api_client.get(url, headers=admin_headers).json() == response.json()
    [event] = audit_events(api_client, admin_headers, action="limits.update")
    assert (event["target_type"], event["target_id"]) == ("user", str(user["id"]))
    assert event["before"]["requests_per_minute"] is None and event["after"]["requests_per_minute"] == 5

    cleared = api_client.put(url, json={}, headers=admin_headers)  # all null: back to the defaults
    assert cleared.json()["overrides"] == EMPTY
    assert effective(cleared.json())["requests_per_minute"] == (None, None)


def test_admins_get_no_defaults(api_client: TestClient, admin_headers: dict) -> None:
    admin = api_client.get("/api/me", headers=admin_headers).json()
    body = api_client.get(f"/api/users/{admin['id']}/limits", headers=admin_headers).json()
    assert set(effective(body).values()) == {(None, None)}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("input_token_quota", -1),
        ("output_token_quota", 1.5),
        ("requests_per_minute", "many"),
        ("daily_budget_usd", -0.01),
        ("monthly_budget_usd", 1e300),
        ("max_concurrent_calls", -1),
        ("hourly_budget_usd", 1),
    ],
)
def test_invalid_limits_are_422_naming_the_field(
    api_client: TestClient, admin_headers: dict, field: str, value: object
) -> None:
    user, _ = user_with_headers(api_client, admin_headers, "dev@example.com")
    response = api_client.put(f"/api/users/{user['id']}/limits", json={field: value}, headers=admin_headers)
    assert response.status_code == 422
    assert detail_message(response).startswith(f"{field}:")


def test_key_limits_readable_by_the_owner_and_set_by_admins_only(api_client: TestClient, admin_headers: dict) -> None:
    owner, owner_headers = user_with_headers(api_client, admin_headers, "owner@example.com")
    _, other_headers = user_with_headers(api_client, admin_headers, "other@example.com")
    key = api_client.post("/api/keys", json={"name": "ci"}, headers=owner_headers).json()
    url = f"/api/keys/{key['id']}/limits"
    api_client.put(f"/api/users/{owner['id']}/limits", json={"requests_per_minute": 5}, headers=admin_headers)

    assert api_client.get(url, headers=other_headers).status_code == 404  # no probing other users' keys
    refused = api_client.put(url, json={"requests_per_minute": 1}, headers=owner_headers)
    assert refused.status_code == 403 and detail_message(refused) == "only admins can set limits"

    response = api_client.put(url, json={"requests_per_minute": 50}, headers=admin_headers)

    assert response.status_code == 200, response.text
    read = api_client.get(url, headers=owner_headers).json()
    assert read == response.json() and read["subject"] == "api_key"
    assert effective(read)["requests_per_minute"] == (50, "key")  # the key beats its user's 5
    assert effective(read)["input_token_quota"] == (1000, "default")
    [event] = audit_events(api_client, admin_headers, action="limits.update", target_type="api_key")
    assert event["target_id"] == str(key["id"]) and event["after"]["requests_per_minute"] == 50


def test_unknown_users_and_keys_are_404(api_client: TestClient, admin_headers: dict) -> None:
    assert api_client.get("/api/users/999/limits", headers=admin_headers).status_code == 404
    assert api_client.put("/api/keys/999/limits", json={}, headers=admin_headers).status_code == 404


def test_only_admins_read_or_set_user_limits(api_client: TestClient, admin_headers: dict) -> None:
    user, headers = user_with_headers(api_client, admin_headers, "dev@example.com")
    assert api_client.get(f"/api/users/{user['id']}/limits", headers=headers).status_code == 403
    assert api_client.put(f"/api/users/{user['id']}/limits", json={}, headers=headers).status_code == 403


def test_me_limits_shows_my_limits_and_keys_with_their_own(api_client: TestClient, admin_headers: dict) -> None:
    _, headers = user_with_headers(api_client, admin_headers, "dev@example.com")
    key = api_client.post("/api/keys", json={"name": "ci"}, headers=headers).json()
    api_client.put(f"/api/keys/{key['id']}/limits", json={"output_token_quota": 7}, headers=admin_headers)

    mine = api_client.get("/api/me/limits", headers=headers).json()

    account = {item["kind"]: item for item in mine["account"]}
    assert account["input_token_quota"] == {
        "kind": "input_token_quota",
        "limit": 1000,
        "source": "default",
        "used": 0,
        "remaining": 1000,
    }
    assert account["requests_per_minute"]["used"] is None  # not counted where nothing limits it
    assert account["max_concurrent_calls"] == {
        "kind": "max_concurrent_calls",
        "limit": None,
        "source": None,
        "used": 0,
        "remaining": None,
    }
    [own] = mine["keys"]
    assert (own["id"], own["prefix"]) == (key["id"], key["prefix"])
    limits = {item["kind"]: (item["limit"], item["source"]) for item in own["limits"]}
    assert limits["output_token_quota"] == (7, "key")
