"""The call log's REST API: filters, cursor paging newest first, one call in detail, a streamed JSONL export;
admin-only, never a body in the listing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from gateway_api.db.models import Outcome, UsageRecord
from tests.api.helpers import user_with_headers
from tests.support.usage_writes import insert_usage

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def calls(api_client: TestClient, admin_headers: dict) -> dict:
    """25 calls by Alice (every minute, some in one same second), 5 by Bob, 3 refused with an unknown key."""
    alice, alice_headers = user_with_headers(api_client, admin_headers, "alice@example.com")
    bob, bob_headers = user_with_headers(api_client, admin_headers, "bob@example.com")
    alice_key = api_client.post("/api/keys", json={"name": "alice-laptop"}, headers=alice_headers).json()
    bob_key = api_client.post("/api/keys", json={"name": "bob-ci"}, headers=bob_headers).json()
    rows = []
    for i in range(25):
        when = NOW - timedelta(minutes=i // 2)  # pairs share a created_at: the cursor must not skip or repeat
        rows.append(
            UsageRecord(
                created_at=when, user_id=alice["id"], api_key_id=alice_key["id"], provider="anthropic-main",
                provider_kind="anthropic", model="claude-haiku-4-5", endpoint="messages", input_tokens=10 + i,
                status_code=200, client="claude-cli/2.0", session_id=f"s-{i % 3}", call_id=f"a{i}",
                path="/api/llm-proxy/anthropic/v1/messages", method="POST",
            )
        )  # fmt: skip
    for i in range(5):
        rows.append(
            UsageRecord(
                created_at=NOW - timedelta(hours=1, minutes=i), user_id=bob["id"], api_key_id=bob_key["id"],
                provider="openai-main", provider_kind="openai", model="gpt-5", endpoint="responses",
                status_code=500 if i == 0 else 200, outcome=Outcome.upstream_error if i == 0 else Outcome.ok,
                client="codex_cli_rs/0.5", call_id=f"b{i}",
            )
        )  # fmt: skip
    for i in range(3):
        rows.append(
            UsageRecord(
                created_at=NOW - timedelta(days=1, minutes=i), provider="anthropic", provider_kind="anthropic",
                model="", endpoint="messages", status_code=401, outcome=Outcome.refused,
                refusal_reason="invalid API key", key_prefix="gwk_QQQQQQQQ", client_address="203.0.113.9",
                call_id=f"r{i}",
            )
        )  # fmt: skip
    with Session(api_client.app.services.engine) as session:  # type: ignore[attr-defined]
        insert_usage(session, rows)
        session.commit()
    return {"alice": alice, "bob": bob, "alice_key": alice_key, "bob_headers": bob_headers}


def _listed(api_client: TestClient, headers: dict, **params: object) -> list[str]:
    response = api_client.get("/api/llm-calls", params={"limit": 500, **params}, headers=headers)
    assert response.status_code == 200, response.text
    return [call["call_id"] for call in response.json()["data"]]


def test_pages_follow_the_cursor_newest_first_without_gaps(
    api_client: TestClient, admin_headers: dict, calls: dict
) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        page = api_client.get("/api/llm-calls", params=params, headers=admin_headers).json()
        seen += [call["call_id"] for call in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 33 and len(set(seen)) == 33
    # Newest first; calls of one same moment by id, newest first too.
    assert seen[:4] == ["a1", "a0", "a3", "a2"] and set(seen[:25]) == {f"a{i}" for i in range(25)}
    assert seen[25:30] == [f"b{i}" for i in range(5)] and seen[30:] == ["r0", "r1", "r2"]
    first = api_client.get("/api/llm-calls", params={"limit": 1}, headers=admin_headers).json()["data"][0]
    assert first["user_email"] == "alice@example.com" and first["api_key_name"] == "alice-laptop"
    assert first["path"] == "/api/llm-proxy/anthropic/v1/messages" and "bodies" not in first
    bad = api_client.get("/api/llm-calls", params={"cursor": "not-a-cursor"}, headers=admin_headers)
    assert bad.status_code == 422


def test_each_filter_narrows_the_listing(api_client: TestClient, admin_headers: dict, calls: dict) -> None:
    def count(**params: object) -> int:
        return len(_listed(api_client, admin_headers, **params))

    assert count(user=calls["bob"]["id"]) == 5
    assert count(key=calls["alice_key"]["id"]) == 25
    assert count(provider="openai-main") == 5
    assert count(model="gpt-5") == 5
    assert count(status=500) == 1
    assert count(status=401) == 3
    assert count(outcome="refused") == 3
    assert count(outcome="upstream_error") == 1
    assert count(client="codex_cli_rs/0.5") == 5
    assert count(session="s-1") == 8
    assert count(**{"from": (NOW - timedelta(hours=2)).isoformat()}) == 30
    assert count(to=(NOW - timedelta(hours=2)).isoformat()) == 3
    assert count(q="HAIKU") == 25  # part of a model name, any case
    assert count(q="bob@") == 5  # part of a user's email
    assert count(q="alice-lap") == 25  # part of a key's name
    assert count(q="gwk_QQQQQQQQ") == 3  # the visible prefix an unknown key presented
    assert count(q="nothing-like-it") == 0
    assert count(q="100%_") == 0  # LIKE's wildcards are plain characters here
    assert count(user=calls["bob"]["id"], status=500) == 1


def test_one_call_in_detail_and_admins_only(api_client: TestClient, admin_headers: dict, calls: dict) -> None:
    listed = api_client.get("/api/llm-calls", params={"outcome": "refused"}, headers=admin_headers).json()["data"]
    detail = api_client.get(f"/api/llm-calls/{listed[0]['id']}", headers=admin_headers).json()
    assert detail["refusal_reason"] == "invalid API key" and detail["api_key_prefix"] == "gwk_QQQQQQQQ"
    assert detail["client_address"] == "203.0.113.9" and detail["bodies"] is None
    assert api_client.get("/api/llm-calls/999999", headers=admin_headers).status_code == 404
    for path in ("/api/llm-calls", f"/api/llm-calls/{listed[0]['id']}", "/api/llm-calls/export"):
        assert api_client.get(path, headers=calls["bob_headers"]).status_code == 403


def test_the_export_streams_every_filtered_call_as_json_lines(
    api_client: TestClient, admin_headers: dict, calls: dict
) -> None:
    with api_client.stream(
        "GET", "/api/llm-calls/export", params={"provider": "anthropic-main"}, headers=admin_headers
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/x-ndjson")
        lines = [orjson.loads(line) for line in response.iter_lines() if line]
    assert len(lines) == 25 and {line["user_email"] for line in lines} == {"alice@example.com"}
    everything = api_client.get("/api/llm-calls/export", headers=admin_headers).text.splitlines()
    assert len(everything) == 33
