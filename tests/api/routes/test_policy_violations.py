"""/api/message-policy-violations: violations written by the app's recorder, listed newest first with filters and
paging, counted by policy / user / day; the content only for auditors (audited), sealed in the database; the
call they came from reachable in the call log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, text
from sqlmodel import Session

from gateway_api.db.models import MessagePolicyViolation, UsageRecord
from gateway_api.message_policies.rules import PolicyAction, PolicyScope, Violation
from tests.api.helpers import audit_events, detail_message, user_with_headers

SECRET = "AKIAABCDEFGHIJKLMNOP is my key"


def services_of(client: TestClient) -> Any:
    return client.app.services  # type: ignore[attr-defined]


def violation(policy_id: int = 7, name: str = "no-cloud-keys", **changes: Any) -> Violation:
    values: dict[str, Any] = {
        "policy_id": policy_id,
        "policy_name": name,
        "scope": PolicyScope.user_messages,
        "action": PolicyAction.redact,
        "explanation": "a cloud key",
        "content": SECRET,
    }
    return Violation(**{**values, **changes})


def record(client: TestClient, violations: list[Violation], user_id: int | None, key_id: int | None, call: str) -> None:
    """Through the running app's recorder, on its event loop, then flushed to the database."""
    recorder = services_of(client).violations
    portal = client.portal
    assert portal is not None
    portal.call(recorder.record, violations, user_id, key_id, call)
    assert portal.call(recorder.flush) is True


def insert_at(client: TestClient, when: datetime, **values: Any) -> None:
    """A violation at a chosen time (the recorder stamps now), sealed like the recorder seals."""
    services = services_of(client)
    row = {
        "created_at": when,
        "policy_id": 1,
        "policy_name": "p",
        "user_id": None,
        "api_key_id": None,
        "scope": "user_messages",
        "action": "monitor",
        "explanation": "",
        "content_sealed": services.violations.sealer.seal(b"x"),
        "call_id": None,
        **values,
    }
    with services.engine.begin() as connection:
        connection.execute(insert(MessagePolicyViolation), [row])


@pytest.fixture
def people(api_client: TestClient, admin_headers: dict) -> dict[str, Any]:
    dev, _ = user_with_headers(api_client, admin_headers, "dev@example.com")
    _, auditor = user_with_headers(api_client, admin_headers, "auditor@example.com", role="auditor")
    _, user = user_with_headers(api_client, admin_headers, "someone@example.com")
    key = api_client.post(
        "/api/keys", json={"name": "laptop", "user_id": dev["id"], "scopes": ["llm"]}, headers=admin_headers
    )
    assert key.status_code == 201, key.text
    return {"dev": dev, "key": key.json(), "auditor": auditor, "user": user}


def test_recorded_violations_are_listed_and_their_content_is_for_auditors(
    api_client: TestClient, admin_headers: dict, people: dict[str, Any]
) -> None:
    dev_id, key_id = people["dev"]["id"], people["key"]["id"]
    record(
        api_client,
        [violation(), violation(8, "no-medical", action=PolicyAction.block, explanation="diagnosis", content="rash")],
        dev_id,
        key_id,
        "call-abc",
    )
    listing = api_client.get("/api/message-policy-violations", headers=admin_headers)
    assert listing.status_code == 200, listing.text
    items = listing.json()["items"]
    assert len(items) == 2 and listing.json()["next_cursor"] is None
    first = next(i for i in items if i["policy_name"] == "no-cloud-keys")
    assert {k: first[k] for k in ("policy_id", "user_id", "user_email", "api_key_id", "key_name", "call_id")} == {
        "policy_id": 7,
        "user_id": dev_id,
        "user_email": "dev@example.com",
        "api_key_id": key_id,
        "key_name": "laptop",
        "call_id": "call-abc",
    }
    assert (first["scope"], first["action"], first["explanation"]) == ("user_messages", "redact", "a cloud key")
    assert "content" not in first and SECRET not in listing.text

    url = f"/api/message-policy-violations/{first['id']}"
    as_admin = api_client.get(url, headers=admin_headers).json()
    assert as_admin["content"] is None and as_admin["call_id"] == "call-abc"
    assert audit_events(api_client, admin_headers, action="message_policy_violation.read_content") == []
    as_auditor = api_client.get(url, headers=people["auditor"])
    assert as_auditor.status_code == 200 and as_auditor.json()["content"] == SECRET
    [event] = audit_events(api_client, admin_headers, action="message_policy_violation.read_content")
    assert event["target_id"] == str(first["id"]) and event["actor_email"] == "auditor@example.com"
    assert api_client.get(url, headers=people["user"]).status_code == 403
    assert api_client.get("/api/message-policy-violations", headers=people["user"]).status_code == 403
    assert api_client.get("/api/message-policy-violations/999999", headers=admin_headers).status_code == 404

    with Session(services_of(api_client).engine) as session:
        stored = session.exec(text("SELECT content_sealed FROM messagepolicyviolation")).all()  # type: ignore[call-overload]
    assert len(stored) == 2
    assert all(b"AKIA" not in bytes(row[0]) and b"rash" not in bytes(row[0]) for row in stored), "sealed at rest"


def test_a_violation_links_to_its_call(api_client: TestClient, admin_headers: dict, people: dict[str, Any]) -> None:
    services = services_of(api_client)
    with Session(services.engine) as session:
        for call_id in ("call-1", "call-2"):
            session.add(
                UsageRecord(
                    provider="anthropic",
                    provider_kind="anthropic",
                    model="claude-haiku-4-5",
                    endpoint="messages",
                    call_id=call_id,
                    user_id=people["dev"]["id"],
                )
            )
        session.commit()
    record(api_client, [violation()], people["dev"]["id"], None, "call-2")
    [item] = api_client.get("/api/message-policy-violations?call=call-2", headers=admin_headers).json()["items"]
    calls = api_client.get(f"/api/llm-calls?call={item['call_id']}", headers=admin_headers).json()["data"]
    assert [c["call_id"] for c in calls] == ["call-2"]
    assert api_client.get(f"/api/llm-calls/{calls[0]['id']}", headers=admin_headers).status_code == 200


def test_filters_and_paging(api_client: TestClient, admin_headers: dict, people: dict[str, Any]) -> None:
    dev_id, key_id = people["dev"]["id"], people["key"]["id"]
    start = datetime(2026, 11, 1, 12, tzinfo=UTC)
    for i in range(7):
        insert_at(
            api_client,
            start + timedelta(hours=i),
            policy_id=1 + i % 2,
            policy_name=f"p{1 + i % 2}",
            user_id=dev_id if i < 3 else None,
            api_key_id=key_id if i == 0 else None,
            scope="tool_calls" if i == 6 else "user_messages",
            action="block" if i % 3 == 0 else "monitor",
            call_id=f"c{i}",
        )
    base = "/api/message-policy-violations"

    def calls(query: str) -> list[str]:
        response = api_client.get(f"{base}?{query}", headers=admin_headers)
        assert response.status_code == 200, response.text
        return [i["call_id"] for i in response.json()["items"]]

    assert calls("") == ["c6", "c5", "c4", "c3", "c2", "c1", "c0"], "newest first"
    assert calls("policy=2") == ["c5", "c3", "c1"]
    assert calls(f"user={dev_id}") == ["c2", "c1", "c0"]
    assert calls(f"key={key_id}") == ["c0"]
    assert calls("scope=tool_calls") == ["c6"]
    assert calls("action=block") == ["c6", "c3", "c0"]
    assert calls("call=c4") == ["c4"]
    assert calls("from=2026-11-01T14:00:00&to=2026-11-01T16:00:00") == ["c3", "c2"]
    assert calls("policy=1&action=block") == ["c6", "c0"]

    seen: list[str] = []
    cursor: str | None = None
    while True:
        query = f"{base}?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = api_client.get(query, headers=admin_headers).json()
        seen += [i["call_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["c6", "c5", "c4", "c3", "c2", "c1", "c0"]

    for query, field in [
        ("cursor=nonsense", "cursor"),
        ("scope=everything", "scope"),
        ("limit=0", "limit"),
        ("from=2026-11-02&to=2026-11-01", "to"),
    ]:
        response = api_client.get(f"{base}?{query}", headers=admin_headers)
        assert response.status_code == 422 and detail_message(response).startswith(f"{field}:"), query


def test_stats_by_policy_user_and_day(api_client: TestClient, admin_headers: dict, people: dict[str, Any]) -> None:
    dev_id = people["dev"]["id"]
    day = datetime(2026, 11, 1, 23, 30, tzinfo=UTC)
    insert_at(api_client, day, policy_id=1, policy_name="keys", user_id=dev_id)
    insert_at(api_client, day + timedelta(hours=1), policy_id=1, policy_name="keys", user_id=dev_id)
    insert_at(api_client, day + timedelta(hours=2), policy_id=2, policy_name="medical", user_id=None)
    insert_at(api_client, day - timedelta(days=30), policy_id=2, policy_name="medical")
    base = "/api/message-policy-violations/stats"
    window = "from=2026-11-01T00:00:00Z&to=2026-11-03T00:00:00Z"

    def rows(by: str) -> list[tuple[str, str, int]]:
        response = api_client.get(f"{base}?by={by}&{window}", headers=admin_headers)
        assert response.status_code == 200, response.text
        return [(r["key"], r["label"], r["count"]) for r in response.json()["rows"]]

    assert rows("policy") == [("1", "keys", 2), ("2", "medical", 1)]
    assert rows("user") == [(str(dev_id), "dev@example.com", 2), ("", "no user", 1)]
    assert rows("day") == [("2026-11-01", "2026-11-01", 1), ("2026-11-02", "2026-11-02", 2)], "UTC days"
    everything = api_client.get(f"{base}?by=policy", headers=people["auditor"]).json()["rows"]
    assert [(r["label"], r["count"]) for r in everything] == [("keys", 2), ("medical", 2)]
    assert api_client.get(f"{base}?by=model", headers=admin_headers).status_code == 422
