"""The auditor role: every GET an admin may do, no write to the gateway (403), bodies for auditors alone,
role changes in the audit trail."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from gateway_api.accounts.roles import can_read_bodies
from gateway_api.db.models import Role, User
from tests.api.helpers import audit_events, user_with_headers

# Writes any signed-in user makes for themself (their sign-in, their own keys): an auditor keeps them.
SELF_SERVICE = {
    ("post", "/api/keys"),
    ("delete", "/api/keys/{key_id}"),
    ("delete", "/api/auth/key"),
}
# Not the REST API an admin reads: sign-in flows, operations endpoints, the CLI download.
NOT_ADMIN_READS = ("/api/auth/", "/healthz", "/readyz", "/metrics", "/cli/")


def _fixtures(api_client: TestClient, admin_headers: dict[str, str]) -> dict[str, Any]:
    """One object of each kind, so every path with an id has a real one to read."""
    provider = api_client.post(
        "/api/providers",
        json={"name": "p", "kind": "openai", "credential": "sk-auditor-test-1234"},
        headers=admin_headers,
    ).json()
    model = api_client.post(
        "/api/models", json={"name": "m-1", "provider_id": provider["id"]}, headers=admin_headers
    ).json()
    group = api_client.post("/api/groups", json={"name": "g"}, headers=admin_headers).json()
    policy = api_client.post(
        "/api/policies", json={"name": "pol", "subjects": ["*"], "models": ["*"]}, headers=admin_headers
    ).json()
    message_policy = api_client.post(
        "/api/message-policies",
        json={
            "name": "mp",
            "subjects": ["*"],
            "scope": ["user_messages"],
            "action": "monitor",
            "rule": {"pattern": "x"},
        },
        headers=admin_headers,
    ).json()
    user, user_headers = user_with_headers(api_client, admin_headers, "someone@example.com")
    key = api_client.post("/api/keys", json={"name": "k"}, headers=user_headers).json()
    return {
        "provider_id": provider["id"],
        "model_id": model["id"],
        "group_id": group["id"],
        "policy_id": policy["id"],
        "user_id": user["id"],
        "key_id": key["id"],
        "call_id": 1,  # the LLM call log's detail: the same answer for both roles whether or not call 1 exists
        "message_policy_id": message_policy["id"],
        "violation_id": 1,  # like call_id: no violation is recorded here, both roles get the same 404
    }


def test_auditors_read_what_admins_read_and_change_nothing(api_client: TestClient, admin_headers: dict) -> None:
    ids = _fixtures(api_client, admin_headers)
    _, auditor = user_with_headers(api_client, admin_headers, "auditor@example.com", role="auditor")
    paths = api_client.get("/openapi.json").json()["paths"]

    reads = 0
    for path, operations in paths.items():
        concrete = path.format(**ids)
        for method in operations:
            if method == "get" and not path.startswith(NOT_ADMIN_READS):
                as_admin = api_client.get(concrete, headers=admin_headers)
                as_auditor = api_client.get(concrete, headers=auditor)
                assert as_auditor.status_code == as_admin.status_code, (path, as_auditor.text)
                assert as_auditor.status_code != 403, path
                reads += 1
            elif method != "get" and (method, path) not in SELF_SERVICE and not path.startswith("/api/auth/"):
                response = api_client.request(method.upper(), concrete, json={}, headers=auditor)
                assert response.status_code == 403, (method, path, response.status_code, response.text)
    assert reads >= 25, "every admin read was tried"

    # The lists that show other users' objects to admins show them to auditors too.
    every_key = api_client.get("/api/keys", params={"all": "true"}, headers=auditor)
    assert every_key.status_code == 200 and ids["key_id"] in {k["id"] for k in every_key.json()["data"]}
    usage = api_client.get("/api/usage/summary", params={"user_ids": ids["user_id"]}, headers=auditor)
    assert usage.status_code == 200
    # Another user's key is there to read, not to revoke.
    assert api_client.delete(f"/api/keys/{ids['key_id']}", headers=auditor).status_code == 403
    assert api_client.put(f"/api/keys/{ids['key_id']}/limits", json={}, headers=auditor).status_code == 403
    # Their own keys work as any user's.
    own = api_client.post("/api/keys", json={"name": "mine", "scope": "api"}, headers=auditor)
    assert own.status_code == 201, own.text
    assert api_client.delete(f"/api/keys/{own.json()['id']}", headers=auditor).status_code == 200


def test_only_active_auditors_read_bodies() -> None:
    assert can_read_bodies(User(email="a@example.com", role=Role.auditor))
    assert not can_read_bodies(User(email="a@example.com", role=Role.auditor, active=False))
    assert not can_read_bodies(User(email="b@example.com", role=Role.admin))
    assert not can_read_bodies(User(email="c@example.com", role=Role.user))


def test_role_changes_are_audited(api_client: TestClient, admin_headers: dict) -> None:
    user, _ = user_with_headers(api_client, admin_headers, "promoted@example.com")
    for role in ("auditor", "admin", "user"):
        response = api_client.patch(f"/api/users/{user['id']}", json={"role": role}, headers=admin_headers)
        assert response.status_code == 200 and response.json()["role"] == role
    changes = audit_events(api_client, admin_headers, target=f"user:{user['id']}", action="user.update")
    assert [(e["before"]["role"], e["after"]["role"]) for e in reversed(changes)] == [
        ("user", "auditor"),
        ("auditor", "admin"),
        ("admin", "user"),
    ]
