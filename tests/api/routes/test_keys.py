"""API keys: own keys for users, anyone's for admins; the secret only in the create response."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.api.helpers import RecordingClient, audit_events, detail_message, user_with_headers


def test_user_manages_own_keys_and_sees_the_secret_once(api_client: TestClient, admin_headers: dict) -> None:
    client = RecordingClient(api_client)
    user, headers = user_with_headers(client, admin_headers, "dev@example.com")
    created = client.post("/api/keys", json={"name": "laptop"}, headers=headers)
    assert created.status_code == 201, created.text
    key = created.json()
    secret = key.pop("secret")
    assert key["scopes"] == ["llm"] and key["status"] == "active" and key["user_email"] == "dev@example.com"
    assert secret.startswith(key["prefix"])
    expires = datetime.fromisoformat(key["expires_at"])
    assert timedelta(days=6.9) < expires - datetime.now(UTC) <= timedelta(days=7), "default expiry is 7 days"
    forever = client.post("/api/keys", json={"name": "ci", "expires_in_days": 3650}, headers=headers).json()
    assert datetime.fromisoformat(forever["expires_at"]) - datetime.now(UTC) > timedelta(days=3649)
    month = client.post("/api/keys", json={"name": "month", "expires_in_days": 30}, headers=headers).json()
    assert datetime.fromisoformat(month["expires_at"]) - datetime.now(UTC) > timedelta(days=29)

    client.bodies.clear()  # from here on, no response may carry the secrets
    listed = client.get("/api/keys", headers=headers).json()
    assert [k["name"] for k in listed["data"]] == ["month", "ci", "laptop", "browser session"]
    assert all(k["user_id"] == user["id"] for k in listed["data"])
    revoked = client.delete(f"/api/keys/{key['id']}", headers=headers).json()
    assert revoked["status"] == "revoked" and revoked["revoked_at"]
    after = [k["name"] for k in client.get("/api/keys", headers=headers).json()["data"]]
    assert after == ["month", "ci", "browser session"]
    with_revoked = client.get("/api/keys", params={"include_inactive": True}, headers=headers).json()
    assert with_revoked["count"] == 4
    client.get("/api/audit", headers=admin_headers)
    client.assert_never_returned(secret)
    client.assert_never_returned(forever["secret"])
    assert [e["action"] for e in audit_events(api_client, admin_headers, target_type="api_key")][:2] == [
        "key.revoke",
        "key.create",
    ]


def test_a_revoked_api_key_stops_at_once(api_client: TestClient, admin_headers: dict) -> None:
    ui_key = api_client.post("/api/keys", json={"name": "automation", "scope": "api"}, headers=admin_headers).json()
    ui_headers = {"Authorization": f"Bearer {ui_key['secret']}"}
    assert api_client.get("/api/me", headers=ui_headers).status_code == 200
    assert api_client.delete(f"/api/keys/{ui_key['id']}", headers=admin_headers).status_code == 200
    assert api_client.get("/api/me", headers=ui_headers).status_code == 401


def test_users_never_see_or_revoke_other_users_keys(api_client: TestClient, admin_headers: dict) -> None:
    alice, alice_headers = user_with_headers(api_client, admin_headers, "alice@example.com")
    bob, bob_headers = user_with_headers(api_client, admin_headers, "bob@example.com")
    alice_key = api_client.post("/api/keys", json={"name": "alice-key"}, headers=alice_headers).json()

    bob_view = api_client.get("/api/keys", params={"include_inactive": True}, headers=bob_headers).json()
    assert all(k["user_id"] == bob["id"] for k in bob_view["data"])
    assert "alice-key" not in str(bob_view)
    assert api_client.get("/api/keys", params={"all": True}, headers=bob_headers).status_code == 403
    assert api_client.get("/api/keys", params={"user_id": alice["id"]}, headers=bob_headers).status_code == 403
    assert api_client.delete(f"/api/keys/{alice_key['id']}", headers=bob_headers).status_code == 404
    assert api_client.delete("/api/keys/99999", headers=bob_headers).status_code == 404
    ui = api_client.post("/api/keys", json={"scope": "ui"}, headers=bob_headers)
    assert ui.status_code == 403
    for_alice = api_client.post("/api/keys", json={"user_id": alice["id"]}, headers=bob_headers)
    assert for_alice.status_code == 403
    assert api_client.get("/api/keys").status_code == 401

    everyone = api_client.get("/api/keys", params={"all": True}, headers=admin_headers).json()
    assert {"alice@example.com", "bob@example.com"} <= {k["user_email"] for k in everyone["data"]}
    alices = api_client.get("/api/keys", params={"user_id": alice["id"]}, headers=admin_headers).json()
    assert {k["user_email"] for k in alices["data"]} == {"alice@example.com"}
    issued = api_client.post("/api/keys", json={"user_id": bob["id"], "name": "for-bob"}, headers=admin_headers)
    assert issued.status_code == 201 and issued.json()["user_email"] == "bob@example.com"
    assert api_client.delete(f"/api/keys/{alice_key['id']}", headers=admin_headers).json()["status"] == "revoked"


def test_key_validation(api_client: TestClient, admin_headers: dict) -> None:
    both = api_client.post("/api/keys", json={"expires_in_days": 3, "no_expiration": True}, headers=admin_headers)
    assert both.status_code == 422 and "no_expiration" in detail_message(both)
    zero = api_client.post("/api/keys", json={"expires_in_days": 0}, headers=admin_headers)
    assert zero.status_code == 422 and detail_message(zero).startswith("expires_in_days:")
    scope = api_client.post("/api/keys", json={"scope": "root"}, headers=admin_headers)
    assert scope.status_code == 422 and detail_message(scope).startswith("scope:")
    nobody = api_client.post("/api/keys", json={"user_id": 999}, headers=admin_headers)
    assert nobody.status_code == 422 and detail_message(nobody).startswith("user_id:")
