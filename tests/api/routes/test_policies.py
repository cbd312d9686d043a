"""Model access policies: reference validation rules, existence of subjects, pattern preview, effect on /me/models."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import audit_events, detail_message, make_user, user_with_headers


@pytest.fixture
def catalog(api_client: TestClient, admin_headers: dict) -> None:
    """A configured Anthropic provider with three models, a group and a user in it."""
    provider = api_client.post(
        "/api/providers",
        json={"name": "anthropic", "kind": "anthropic", "credential": "sk-ant-xyz-123456"},
        headers=admin_headers,
    ).json()
    for name, active in [("claude-haiku-4-5", True), ("claude-opus-4-1", True), ("claude-old", False)]:
        api_client.post(
            "/api/models", json={"provider_id": provider["id"], "name": name, "active": active}, headers=admin_headers
        )
    assert api_client.post("/api/groups", json={"name": "engineers"}, headers=admin_headers).status_code == 201
    make_user(api_client, admin_headers, "dev@example.com", groups=["engineers"])


@pytest.mark.usefixtures("catalog")
def test_policy_lifecycle(api_client: TestClient, admin_headers: dict) -> None:
    created = api_client.post(
        "/api/policies",
        json={"name": "devs", "subjects": ["group:engineers", "user:Dev@Example.com"], "models": ["claude-haiku*"]},
        headers=admin_headers,
    )
    assert created.status_code == 201, created.text
    policy = created.json()
    assert policy["subjects"] == ["group:engineers", "user:dev@example.com"], "emails are stored normalised"
    assert api_client.get("/api/policies", headers=admin_headers).json()["count"] == 1
    url = f"/api/policies/{policy['id']}"
    updated = api_client.patch(url, json={"models": ["*"], "name": "everything"}, headers=admin_headers).json()
    assert (updated["name"], updated["models"], updated["subjects"]) == ("everything", ["*"], policy["subjects"])
    assert api_client.get(url, headers=admin_headers).json()["name"] == "everything"
    assert api_client.delete(url, headers=admin_headers).status_code == 200
    assert api_client.get(url, headers=admin_headers).status_code == 404
    assert [e["action"] for e in audit_events(api_client, admin_headers, target_type="policy")] == [
        "policy.delete",
        "policy.update",
        "policy.create",
    ]


@pytest.mark.usefixtures("catalog")
@pytest.mark.parametrize(
    ("subjects", "models", "field", "fragment"),
    [
        ([], ["*"], "subjects", "at least one"),
        (["*"], [], "models", "at least one"),
        (["*", "group:engineers"], ["*"], "subjects", '"*" must be the only'),
        (["*"], ["*", "gpt-5"], "models", '"*" must be the only'),
        (["group:engineers", "group:engineers"], ["*"], "subjects", "duplicates"),
        (["*"], ["gpt-5", "gpt-5"], "models", "duplicates"),
        (["user:nobody@example.com"], ["*"], "subjects", "does not exist"),
        (["group:ghosts"], ["*"], "subjects", "does not exist"),
        (["team:x"], ["*"], "subjects", "must be"),
        (["*"], ["gpt-*-mini"], "models", "only have"),
        (["user:dev@example.com", "user:DEV@example.com"], ["*"], "subjects", "duplicates"),
        (["*"], ["bad pattern!"], "models", "can never match a model: model names use letters, digits"),
        (["*"], ["gpt<5*"], "models", "can never match"),
        (["*"], ["-gpt*"], "models", "start with a letter or a digit"),
        (["*"], ["¿*"], "models", "start with a letter or a digit"),
    ],
)
def test_invalid_policies_are_refused_naming_the_field(
    api_client: TestClient, admin_headers: dict, subjects: list, models: list, field: str, fragment: str
) -> None:
    response = api_client.post(
        "/api/policies", json={"name": "p", "subjects": subjects, "models": models}, headers=admin_headers
    )
    assert response.status_code == 422, response.text
    message = detail_message(response)
    assert message.startswith(f"{field}:") and fragment in message


@pytest.mark.usefixtures("catalog")
def test_every_problem_is_named_at_once(api_client: TestClient, admin_headers: dict) -> None:
    response = api_client.post(
        "/api/policies",
        json={"name": "p", "subjects": ["group:ghosts", "user:nobody@example.com"], "models": ["ok-*", "no;way"]},
        headers=admin_headers,
    )
    assert response.status_code == 422
    problems = [(entry["loc"][1], entry["msg"]) for entry in response.json()["detail"]]
    assert problems == [
        (
            "models",
            (
                'models: "no;way" can never match a model: model names use letters, digits, spaces and the characters '
                ". _ - : / @ + ( ) , ' & # only"
            ),
        )
    ], "shape problems first: the names are looked up once the shape is right"
    missing = api_client.post(
        "/api/policies",
        json={"name": "p", "subjects": ["group:ghosts", "user:nobody@example.com"], "models": ["ok-*"]},
        headers=admin_headers,
    )
    assert [entry["msg"] for entry in missing.json()["detail"]] == [
        'subjects: group "ghosts" does not exist',
        'subjects: user "nobody@example.com" does not exist',
    ]
    assert api_client.get("/api/policies", headers=admin_headers).json()["count"] == 0, "nothing was saved"


@pytest.mark.usefixtures("catalog")
def test_duplicate_names_and_missing_policies(api_client: TestClient, admin_headers: dict) -> None:
    body = {"name": "all", "subjects": ["*"], "models": ["*"]}
    assert api_client.post("/api/policies", json=body, headers=admin_headers).status_code == 201
    assert api_client.post("/api/policies", json=body, headers=admin_headers).status_code == 409
    other = api_client.post("/api/policies", json={**body, "name": "other"}, headers=admin_headers).json()
    rename = api_client.patch(f"/api/policies/{other['id']}", json={"name": "all"}, headers=admin_headers)
    assert rename.status_code == 409
    assert api_client.patch("/api/policies/999", json={}, headers=admin_headers).status_code == 404
    assert api_client.delete("/api/policies/999", headers=admin_headers).status_code == 404


@pytest.mark.usefixtures("catalog")
def test_preview_counts_what_a_pattern_matches_now(api_client: TestClient, admin_headers: dict) -> None:
    def preview(pattern: str) -> dict:
        response = api_client.get("/api/policies/preview", params={"pattern": pattern}, headers=admin_headers)
        assert response.status_code == 200, response.text
        return response.json()

    claude = preview("claude-*")
    assert (claude["count"], claude["active_count"]) == (3, 2)
    assert [m["name"] for m in claude["models"]] == ["claude-haiku-4-5", "claude-old", "claude-opus-4-1"]
    assert preview("*")["count"] == 3
    assert preview("claude-haiku-4-5")["count"] == 1
    assert preview("Claude-*")["count"] == 0, "patterns are case-sensitive"
    assert preview("gpt-*") == {"pattern": "gpt-*", "count": 0, "active_count": 0, "models": []}
    bad = api_client.get("/api/policies/preview", params={"pattern": "a*b"}, headers=admin_headers)
    assert bad.status_code == 422 and detail_message(bad).startswith("pattern:")
    never = api_client.get("/api/policies/preview", params={"pattern": "bad pattern!"}, headers=admin_headers)
    assert never.status_code == 422 and "can never match a model" in detail_message(never)


@pytest.mark.usefixtures("catalog")
def test_grants_reach_my_models_and_users_are_refused(api_client: TestClient, admin_headers: dict) -> None:
    dev_headers = {
        "Authorization": "Bearer "
        + api_client.post("/api/auth/login", json={"email": "dev@example.com", "password": "user-password-123"}).json()[
            "token"
        ]
    }
    assert api_client.get("/api/me/models", headers=dev_headers).json()["providers"] == []
    policy = api_client.post(
        "/api/policies",
        json={"name": "devs", "subjects": ["group:engineers"], "models": ["claude-*"]},
        headers=admin_headers,
    ).json()
    models = api_client.get("/api/me/models", headers=dev_headers).json()["providers"][0]["models"]
    assert [m["name"] for m in models] == ["claude-haiku-4-5", "claude-opus-4-1"], "inactive models are not offered"
    assert api_client.get("/api/policies", headers=dev_headers).status_code == 403
    assert (
        api_client.patch(f"/api/policies/{policy['id']}", json={"models": ["*"]}, headers=dev_headers).status_code
        == 403
    )
    assert api_client.get("/api/policies/preview", params={"pattern": "*"}, headers=dev_headers).status_code == 403
    _, other_headers = user_with_headers(api_client, admin_headers, "other@example.com")
    assert api_client.get("/api/me/models", headers=other_headers).json()["providers"] == []
