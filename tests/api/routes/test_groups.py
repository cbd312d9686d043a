"""Groups: CRUD, members, renames that policies follow, deletes refused while a policy names the group."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.helpers import audit_events, detail_message, make_user


def test_group_lifecycle_follows_policies(api_client: TestClient, admin_headers: dict) -> None:
    group = api_client.post("/api/groups", json={"name": "engineers"}, headers=admin_headers).json()
    make_user(api_client, admin_headers, "dev@example.com", groups=["engineers"])
    listed = api_client.get("/api/groups", headers=admin_headers).json()
    assert listed["count"] == 1 and listed["data"][0]["members"] == ["dev@example.com"]
    policy = api_client.post(
        "/api/policies", json={"name": "devs", "subjects": ["group:engineers"], "models": ["*"]}, headers=admin_headers
    ).json()

    renamed = api_client.patch(f"/api/groups/{group['id']}", json={"name": "builders"}, headers=admin_headers).json()
    assert renamed["name"] == "builders" and renamed["members"] == ["dev@example.com"]
    assert api_client.get(f"/api/policies/{policy['id']}", headers=admin_headers).json()["subjects"] == [
        "group:builders"
    ]
    refused = api_client.delete(f"/api/groups/{group['id']}", headers=admin_headers)
    assert refused.status_code == 409 and "devs" in detail_message(refused)

    api_client.delete(f"/api/policies/{policy['id']}", headers=admin_headers)
    deleted = api_client.delete(f"/api/groups/{group['id']}", headers=admin_headers)
    assert deleted.status_code == 200 and deleted.json()["members"] == ["dev@example.com"]
    assert api_client.get(f"/api/groups/{group['id']}", headers=admin_headers).status_code == 404
    users = api_client.get("/api/users", params={"q": "dev@"}, headers=admin_headers).json()["data"]
    assert users[0]["groups"] == []
    assert [e["action"] for e in audit_events(api_client, admin_headers, target_type="group")] == [
        "group.delete",
        "group.update",
        "group.create",
    ]


def test_group_refusals(api_client: TestClient, admin_headers: dict) -> None:
    first = api_client.post("/api/groups", json={"name": "a"}, headers=admin_headers).json()
    api_client.post("/api/groups", json={"name": "b"}, headers=admin_headers)
    assert api_client.post("/api/groups", json={"name": "a"}, headers=admin_headers).status_code == 409
    assert api_client.patch(f"/api/groups/{first['id']}", json={"name": "b"}, headers=admin_headers).status_code == 409
    empty = api_client.post("/api/groups", json={"name": ""}, headers=admin_headers)
    assert empty.status_code == 422 and detail_message(empty).startswith("name:")
    assert api_client.patch("/api/groups/999", json={"name": "c"}, headers=admin_headers).status_code == 404
    assert api_client.post("/api/groups", json={"name": "c"}).status_code == 401
