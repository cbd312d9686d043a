"""Providers: CRUD with a write-only credential, the connection test and model import against a real fake upstream."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import RecordingClient, audit_events, detail_message, user_with_headers
from tests.support.fakes.upstream import FakeUpstream
from tests.support.live import free_port

CREDENTIAL = "sk-ant-very-secret-credential-9876"
OTHER_CREDENTIAL = "sk-ant-replacement-secret-5555"


@pytest.fixture
def client(api_client: TestClient) -> RecordingClient:
    return RecordingClient(api_client)


def create_provider(client: RecordingClient, headers: dict[str, str], **fields: object) -> dict:
    body = {"name": "anthropic", "kind": "anthropic", "credential": CREDENTIAL, **fields}
    response = client.post("/api/providers", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_provider_lifecycle_never_returns_the_credential(client: RecordingClient, admin_headers: dict) -> None:
    created = create_provider(client, admin_headers)
    assert created["configured"] is True
    assert created["credential_last4"] == "9876"
    assert created["base_url"] == "https://api.anthropic.com"  # the kind's default

    listed = client.get("/api/providers", headers=admin_headers).json()
    assert listed["count"] == 1 and listed["data"][0]["id"] == created["id"]
    assert client.get(f"/api/providers/{created['id']}", headers=admin_headers).json()["name"] == "anthropic"

    updated = client.patch(
        f"/api/providers/{created['id']}",
        json={"base_url": "https://proxy.example.com/v1/", "credential": OTHER_CREDENTIAL},
        headers=admin_headers,
    ).json()
    assert updated["base_url"] == "https://proxy.example.com/v1"
    assert updated["credential_last4"] == "5555"

    renamed = client.patch(f"/api/providers/{created['id']}", json={"name": "claude"}, headers=admin_headers).json()
    assert renamed["configured"] is True, "omitting the credential keeps it"

    cleared = client.patch(f"/api/providers/{created['id']}", json={"credential": None}, headers=admin_headers).json()
    assert cleared["configured"] is False and cleared["credential_last4"] is None

    assert client.delete(f"/api/providers/{created['id']}", headers=admin_headers).status_code == 200
    assert client.get(f"/api/providers/{created['id']}", headers=admin_headers).status_code == 404

    actions = [e["action"] for e in audit_events(client, admin_headers, target_type="provider")]
    assert actions == ["provider.delete", "provider.update", "provider.update", "provider.update", "provider.create"]
    client.assert_never_returned(CREDENTIAL)


def test_import_takes_display_names_and_can_activate_what_it_adds(
    client: RecordingClient, admin_headers: dict, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.configure(
        anthropic_models=["claude-opus-4-8", "claude-haiku-4-5", "claude-mine", "claude-odd"],
        anthropic_display_names={
            "claude-opus-4-8": "Claude Opus 4.8",
            "claude-haiku-4-5": "Claude Haiku 4.5",
            "claude-mine": "Upstream Name",
            "claude-odd": "  Claude\x00 \u202eOdd\n  ",
        },
    )
    provider = create_provider(client, admin_headers, base_url=fake_upstream.anthropic_base_url)
    for name, display_name in (("claude-haiku-4-5", None), ("claude-mine", "Our own name")):
        body = {"provider_id": provider["id"], "name": name, "display_name": display_name, "active": False}
        assert client.post("/api/models", json=body, headers=admin_headers).status_code == 201

    result = client.post(
        f"/api/providers/{provider['id']}/import-models", json={"activate": True}, headers=admin_headers
    ).json()

    assert result == {
        "added": ["claude-opus-4-8", "claude-odd"],
        "skipped": ["claude-haiku-4-5", "claude-mine"],
        "named": ["claude-haiku-4-5"],
    }
    models = {m["name"]: m for m in client.get("/api/models", headers=admin_headers).json()["data"]}
    assert {name: (m["display_name"], m["active"]) for name, m in models.items()} == {
        "claude-opus-4-8": ("Claude Opus 4.8", True),
        "claude-odd": ("Claude Odd", True),  # control and direction characters dropped, spaces folded
        "claude-haiku-4-5": ("Claude Haiku 4.5", False),  # present before: named, its active flag left alone
        "claude-mine": ("Our own name", False),  # an admin's own display name stays
    }
    assert (models["claude-opus-4-8"]["price_input"], models["claude-opus-4-8"]["price_output"]) == (5.0, 25.0)
    bad = client.post(f"/api/providers/{provider['id']}/import-models", json={"activate": "yes please"},
                      headers=admin_headers)  # fmt: skip
    assert bad.status_code == 422 and detail_message(bad).startswith("activate:")
    client.assert_never_returned(OTHER_CREDENTIAL)


def test_audit_events_of_provider_changes_hold_no_credential(api_client: TestClient, admin_headers: dict) -> None:
    client = RecordingClient(api_client)
    provider = create_provider(client, admin_headers)
    client.patch(f"/api/providers/{provider['id']}", json={"credential": OTHER_CREDENTIAL}, headers=admin_headers)
    services = api_client.app.services  # type: ignore[attr-defined]
    from sqlmodel import Session, select

    from gateway_api.db.models import AuditEvent

    with Session(services.engine) as session:
        stored = json.dumps([[e.before, e.after] for e in session.exec(select(AuditEvent))])
    assert CREDENTIAL not in stored and OTHER_CREDENTIAL not in stored
    assert '"credential_last4": "5555"' in stored


def test_provider_refusals(client: RecordingClient, admin_headers: dict) -> None:
    create_provider(client, admin_headers)
    duplicate = client.post("/api/providers", json={"name": "anthropic", "kind": "openai"}, headers=admin_headers)
    assert duplicate.status_code == 409
    bad_url = client.post(
        "/api/providers", json={"name": "x", "kind": "openai", "base_url": "ftp://nope"}, headers=admin_headers
    )
    assert bad_url.status_code == 422 and detail_message(bad_url).startswith("base_url:")
    bad_kind = client.post("/api/providers", json={"name": "x", "kind": "mistral"}, headers=admin_headers)
    assert bad_kind.status_code == 422 and detail_message(bad_kind).startswith("kind:")
    spaced = client.post(
        "/api/providers", json={"name": "x", "kind": "openai", "credential": "has space"}, headers=admin_headers
    )
    assert spaced.status_code == 422 and detail_message(spaced).startswith("credential:")
    assert "has space" not in spaced.text, "validation errors never echo the submitted credential"
    assert client.get("/api/providers/999", headers=admin_headers).status_code == 404
    # Beyond a 32-bit id PostgreSQL would refuse the query; the API refuses the request instead.
    assert client.get(f"/api/providers/{2**31}", headers=admin_headers).status_code == 422
    assert client.patch("/api/providers/999", json={}, headers=admin_headers).status_code == 404
    assert client.get("/api/providers").status_code == 401


def test_users_cannot_touch_providers(client: RecordingClient, admin_headers: dict) -> None:
    provider = create_provider(client, admin_headers)
    _, user_headers = user_with_headers(client, admin_headers, "user@example.com")
    assert client.get("/api/providers", headers=user_headers).status_code == 403
    assert client.post("/api/providers", json={"name": "y", "kind": "openai"}, headers=user_headers).status_code == 403
    assert client.post(f"/api/providers/{provider['id']}/test", headers=user_headers).status_code == 403
    assert client.delete(f"/api/providers/{provider['id']}", headers=user_headers).status_code == 403


def test_connection_test_sends_the_providers_own_auth(
    client: RecordingClient, admin_headers: dict, fake_upstream: FakeUpstream
) -> None:
    anthropic = create_provider(client, admin_headers, base_url=fake_upstream.anthropic_base_url + "/v1")
    result = client.post(f"/api/providers/{anthropic['id']}/test", headers=admin_headers).json()
    assert result["ok"] is True and result["models_found"] == 3
    request = fake_upstream.last_request()
    assert request.path == "/anthropic/v1/models", "a base URL ending in /v1 must not become /v1/v1"
    assert request.headers["x-api-key"] == CREDENTIAL
    assert request.headers["anthropic-version"]

    openai = create_provider(
        client, admin_headers, name="openai", kind="openai", base_url=fake_upstream.openai_base_url
    )
    result = client.post(f"/api/providers/{openai['id']}/test", headers=admin_headers).json()
    assert result == {"ok": True, "message": result["message"], "status_code": 200, "models_found": 4}
    assert fake_upstream.last_request().headers["authorization"] == f"Bearer {CREDENTIAL}"
    client.assert_never_returned(CREDENTIAL)


def test_connection_test_says_what_failed(
    client: RecordingClient, admin_headers: dict, fake_upstream: FakeUpstream
) -> None:
    provider = create_provider(client, admin_headers, base_url=fake_upstream.anthropic_base_url)
    fake_upstream.configure(error_status=401)
    rejected = client.post(f"/api/providers/{provider['id']}/test", headers=admin_headers).json()
    assert rejected["ok"] is False and rejected["status_code"] == 401
    assert "rejected the credential" in rejected["message"]

    fake_upstream.configure(error_status=None)
    closed_port = free_port()
    client.patch(
        f"/api/providers/{provider['id']}",
        json={"base_url": f"http://127.0.0.1:{closed_port}", "credential": CREDENTIAL},  # another host: key again
        headers=admin_headers,
    )
    unreachable = client.post(f"/api/providers/{provider['id']}/test", headers=admin_headers).json()
    assert unreachable["ok"] is False and unreachable["message"].startswith("unreachable")

    client.patch(f"/api/providers/{provider['id']}", json={"credential": None}, headers=admin_headers)
    missing = client.post(f"/api/providers/{provider['id']}/test", headers=admin_headers).json()
    assert missing == {"ok": False, "message": "no credential is configured", "status_code": None, "models_found": 0}
    assert client.post("/api/providers/999/test", headers=admin_headers).status_code == 404
    client.assert_never_returned(CREDENTIAL)


def test_import_models_adds_listed_models_inactive_with_shipped_prices(
    client: RecordingClient, admin_headers: dict, fake_upstream: FakeUpstream
) -> None:
    provider = create_provider(client, admin_headers, base_url=fake_upstream.anthropic_base_url)
    existing = client.post(
        "/api/models", json={"provider_id": provider["id"], "name": "claude-haiku-4-5"}, headers=admin_headers
    )
    assert existing.status_code == 201

    result = client.post(f"/api/providers/{provider['id']}/import-models", headers=admin_headers).json()
    assert result == {
        "added": ["claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805"],
        "skipped": ["claude-haiku-4-5"],
        "named": [],
    }
    models = {m["name"]: m for m in client.get("/api/models", headers=admin_headers).json()["data"]}
    sonnet = models["claude-sonnet-4-5-20250929"]
    assert sonnet["active"] is False
    assert (sonnet["price_input"], sonnet["price_output"]) == (3.0, 15.0)
    assert models["claude-haiku-4-5"]["active"] is True, "an existing model is left as it was"

    again = client.post(f"/api/providers/{provider['id']}/import-models", headers=admin_headers).json()
    assert again["added"] == [] and len(again["skipped"]) == 3

    fake_upstream.configure(error_status=401)
    failed = client.post(f"/api/providers/{provider['id']}/import-models", headers=admin_headers)
    assert failed.status_code == 409 and "rejected the credential" in detail_message(failed)
    assert [e["action"] for e in audit_events(client, admin_headers, action="provider.import_models")] == [
        "provider.import_models"
    ]
    client.assert_never_returned(CREDENTIAL)
