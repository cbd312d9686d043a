"""Audit events: recorded for every change, filterable, paged, admin-only, never holding a secret."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from gateway_api.accounts.audit import redact
from tests.api.helpers import RecordingClient, audit_events, user_with_headers
from tests.conftest import ADMIN_EMAIL

CREDENTIAL = "sk-audit-credential-abcdef"
PASSWORD = "audit-user-password-1"


def test_changes_are_audited_with_filters_and_no_secrets(api_client: TestClient, admin_headers: dict) -> None:
    client = RecordingClient(api_client)
    before_changes = datetime.now(UTC) - timedelta(seconds=1)
    provider = client.post(
        "/api/providers", json={"name": "p", "kind": "openai", "credential": CREDENTIAL}, headers=admin_headers
    ).json()
    client.patch(  # another host: the credential comes along, or it is cleared (issue 15)
        f"/api/providers/{provider['id']}",
        json={"base_url": "https://example.com", "credential": CREDENTIAL},
        headers=admin_headers,
    )
    user, user_headers = user_with_headers(client, admin_headers, "audited@example.com", password=PASSWORD)
    seen_before_key = len(client.bodies)
    key = client.post("/api/keys", json={"name": "k"}, headers=user_headers).json()
    del client.bodies[seen_before_key:]  # the create response is the one place the key secret may appear

    # Sign-ins (the admin's and the new user's) are audited as sessions, between the changes.
    page = client.get("/api/audit", params={"limit": 2}, headers=admin_headers).json()
    assert page["total"] == 6 and len(page["data"]) == 2
    assert [e["action"] for e in page["data"]] == ["key.create", "session.create"]
    key_event = page["data"][0]
    assert (key_event["actor_email"], key_event["target_id"]) == ("audited@example.com", str(key["id"]))
    second = client.get("/api/audit", params={"limit": 2, "offset": 2}, headers=admin_headers).json()
    assert [e["action"] for e in second["data"]] == ["user.create", "provider.update"]
    update = second["data"][1]
    assert update["before"]["base_url"] == "https://api.openai.com"
    assert update["after"]["base_url"] == "https://example.com"
    assert update["after"]["credential_last4"] == "cdef"

    def actions(**params: object) -> list[str]:
        return [e["action"] for e in client.get("/api/audit", params=params, headers=admin_headers).json()["data"]]

    assert actions(action="provider.") == ["provider.update", "provider.create"]
    assert actions(action="provider.create") == ["provider.create"]
    assert actions(actor=ADMIN_EMAIL.upper()) == ["user.create", "provider.update", "provider.create", "session.create"]
    assert actions(target_type="api_key") == ["key.create"]
    assert actions(target_id=str(user["id"]), target_type="user") == ["user.create"]
    assert actions(since=(datetime.now(UTC) + timedelta(hours=1)).isoformat()) == []
    assert actions(since=before_changes.isoformat(), action="provider.") == ["provider.update", "provider.create"]

    assert client.get("/api/audit", headers=user_headers).status_code == 403
    assert client.get("/api/audit").status_code == 401
    client.assert_never_returned(CREDENTIAL)
    client.assert_never_returned(PASSWORD)
    client.assert_never_returned(key["secret"])
    client.assert_never_returned("$argon2")


def test_limit_values_are_kept_and_only_secrets_redacted(api_client: TestClient, admin_headers: dict) -> None:
    user, _ = user_with_headers(api_client, admin_headers, "limited@example.com")
    limits = {"input_token_quota": 50_000, "output_token_quota": 7_000, "requests_per_minute": 30}
    assert api_client.put(f"/api/users/{user['id']}/limits", json=limits, headers=admin_headers).status_code == 200
    (event,) = audit_events(api_client, admin_headers, action="limits.update")
    assert {name: event["after"][name] for name in limits} == limits
    assert event["before"]["input_token_quota"] is None

    assert redact({"access_token": "t", "client_secret": "s", "nested": [{"password": "p"}], "token_count": 3}) == {
        "access_token": "[redacted]",
        "client_secret": "[redacted]",
        "nested": [{"password": "[redacted]"}],
        "token_count": 3,
    }


def test_filters_and_cursor_paging_newest_first(api_client: TestClient, admin_headers: dict) -> None:
    for i in range(7):
        response = api_client.post("/api/groups", json={"name": f"team-{i}"}, headers=admin_headers)
        assert response.status_code == 201
    group_ids = [g["id"] for g in api_client.get("/api/groups", headers=admin_headers).json()["data"]]

    seen: list[dict] = []
    cursor = None
    while True:
        params: dict = {"action": "group.", "limit": 3} | ({"cursor": cursor} if cursor else {})
        page = api_client.get("/api/audit", params=params, headers=admin_headers).json()
        seen.extend(page["data"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        # A change made while paging does not shift the pages (it is newer than the cursor).
        api_client.post("/api/groups", json={"name": f"late-{len(seen)}"}, headers=admin_headers)
    assert [e["after"]["name"] for e in seen] == [f"team-{i}" for i in reversed(range(7))]
    assert len({e["id"] for e in seen}) == 7

    middle = seen[3]["created_at"]
    older = audit_events(api_client, admin_headers, action="group.create", to=middle)
    assert all(e["created_at"] < middle for e in older)
    newer = audit_events(api_client, admin_headers, action="group.create", **{"from": middle})
    assert all(e["created_at"] >= middle for e in newer) and seen[3]["id"] in {e["id"] for e in newer}
    assert len(older) + len(newer) == len(audit_events(api_client, admin_headers, action="group.create"))

    one = audit_events(api_client, admin_headers, target=f"group:{seen[0]['target_id']}")
    assert [e["id"] for e in one] == [seen[0]["id"]]
    assert len(audit_events(api_client, admin_headers, target="group")) >= 7
    assert str(group_ids[0]) in {e["target_id"] for e in audit_events(api_client, admin_headers, target="group")}
    assert audit_events(api_client, admin_headers, actor="cli") == []

    bad = api_client.get("/api/audit", params={"cursor": "not-a-cursor"}, headers=admin_headers)
    assert bad.status_code == 422 and "cursor" in bad.text
