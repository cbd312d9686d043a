"""Users: create with groups, update role / groups / password, deactivate (their keys stop at once), admin-only."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.helpers import RecordingClient, audit_events, detail_message, make_user, sign_in, user_with_headers
from tests.conftest import ADMIN_EMAIL

NEW_PASSWORD = "a-brand-new-password-77"


def test_create_update_and_list(api_client: TestClient, admin_headers: dict) -> None:
    client = RecordingClient(api_client)
    for name in ("engineers", "research"):
        assert client.post("/api/groups", json={"name": name}, headers=admin_headers).status_code == 201
    user = make_user(client, admin_headers, "Ada@Example.com", groups=["engineers"])
    assert (user["email"], user["role"], user["active"], user["groups"], user["has_password"]) == (
        "ada@example.com",
        "user",
        True,
        ["engineers"],
        True,
    )
    updated = client.patch(
        f"/api/users/{user['id']}",
        json={"name": "Ada L.", "role": "admin", "groups": ["research"], "password": NEW_PASSWORD},
        headers=admin_headers,
    ).json()
    assert (updated["name"], updated["role"], updated["groups"]) == ("Ada L.", "admin", ["research"])
    sign_in(client, "ada@example.com", NEW_PASSWORD)
    emails = [u["email"] for u in client.get("/api/users", headers=admin_headers).json()["data"]]
    assert emails == ["ada@example.com", ADMIN_EMAIL]
    assert [
        u["email"] for u in client.get("/api/users", params={"q": "ADA"}, headers=admin_headers).json()["data"]
    ] == ["ada@example.com"]
    assert client.get(f"/api/users/{user['id']}", headers=admin_headers).json()["groups"] == ["research"]
    events = audit_events(client, admin_headers, target_type="user")
    assert [e["action"] for e in events] == ["user.update", "user.create"]
    assert events[0]["before"]["role"] == "user" and events[0]["after"]["role"] == "admin"
    client.assert_never_returned(NEW_PASSWORD)
    client.assert_never_returned("$argon2")


def test_deactivating_a_user_stops_their_keys_at_once(api_client: TestClient, admin_headers: dict) -> None:
    user, user_headers = user_with_headers(api_client, admin_headers, "leaver@example.com")
    assert api_client.get("/api/me", headers=user_headers).status_code == 200
    deactivated = api_client.delete(f"/api/users/{user['id']}", headers=admin_headers)
    assert deactivated.status_code == 200 and deactivated.json()["active"] is False
    assert api_client.get("/api/me", headers=user_headers).status_code == 401
    snapshot = api_client.app.services.catalog.snapshot  # type: ignore[attr-defined]
    assert snapshot.users_by_id[user["id"]].active is False, "the proxy's catalog already knows"
    assert (
        api_client.post(
            "/api/auth/login", json={"email": "leaver@example.com", "password": "user-password-123"}
        ).status_code
        == 401
    )
    restored = api_client.patch(f"/api/users/{user['id']}", json={"active": True}, headers=admin_headers).json()
    assert restored["active"] is True
    assert api_client.get("/api/me", headers=user_headers).status_code == 401, "its sessions ended for good"
    assert audit_events(api_client, admin_headers, action="user.deactivate")[0]["target_id"] == str(user["id"])


def test_refusals(api_client: TestClient, admin_headers: dict) -> None:
    make_user(api_client, admin_headers, "taken@example.com")
    duplicate = api_client.post("/api/users", json={"email": "TAKEN@example.com"}, headers=admin_headers)
    assert duplicate.status_code == 409
    bad_email = api_client.post("/api/users", json={"email": "not-an-email"}, headers=admin_headers)
    assert bad_email.status_code == 422 and detail_message(bad_email).startswith("email:")
    short = api_client.post("/api/users", json={"email": "a@b.c", "password": "short"}, headers=admin_headers)
    assert short.status_code == 422 and detail_message(short).startswith("password:")
    assert "short" not in short.json()["detail"][0].get("input", ""), "passwords are never echoed"
    no_group = api_client.post("/api/users", json={"email": "a@b.c", "groups": ["ghosts"]}, headers=admin_headers)
    assert no_group.status_code == 422 and detail_message(no_group).startswith("groups:")
    bad_role = api_client.post("/api/users", json={"email": "a@b.c", "role": "root"}, headers=admin_headers)
    assert bad_role.status_code == 422 and detail_message(bad_role).startswith("role:")
    assert api_client.get("/api/users/999", headers=admin_headers).status_code == 404
    assert api_client.delete("/api/users/999", headers=admin_headers).status_code == 404


def test_admins_cannot_lock_themselves_out(api_client: TestClient, admin_headers: dict) -> None:
    me = api_client.get("/api/me", headers=admin_headers).json()
    assert api_client.delete(f"/api/users/{me['id']}", headers=admin_headers).status_code == 409
    assert api_client.patch(f"/api/users/{me['id']}", json={"role": "user"}, headers=admin_headers).status_code == 409
    assert api_client.patch(f"/api/users/{me['id']}", json={"active": False}, headers=admin_headers).status_code == 409
    _, other_headers = user_with_headers(api_client, admin_headers, "second@example.com", role="admin")
    assert api_client.patch(f"/api/users/{me['id']}", json={"role": "user"}, headers=other_headers).status_code == 200


def test_users_cannot_use_user_admin(api_client: TestClient, admin_headers: dict) -> None:
    user, user_headers = user_with_headers(api_client, admin_headers, "plain@example.com")
    assert api_client.get("/api/users", headers=user_headers).status_code == 403
    assert api_client.get(f"/api/users/{user['id']}", headers=user_headers).status_code == 403
    promote = api_client.patch(f"/api/users/{user['id']}", json={"role": "admin"}, headers=user_headers)
    assert promote.status_code == 403
    assert api_client.post("/api/users", json={"email": "x@y.z"}, headers=user_headers).status_code == 403
    assert api_client.get("/api/groups", headers=user_headers).status_code == 403
    assert api_client.get("/api/users").status_code == 401
