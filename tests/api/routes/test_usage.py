"""Usage routes: admins see everyone, users only themselves; exact totals, series, breakdowns and CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from gateway_api.db.models import Outcome, UsageRecord
from tests.api.helpers import detail_message, user_with_headers
from tests.support.usage_writes import insert_usage

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


@pytest.fixture
def people(api_client: TestClient, admin_headers: dict) -> dict:
    """Alice and Bob, each with a key and usage rows from the last days, plus one row from long ago."""
    alice, alice_headers = user_with_headers(api_client, admin_headers, "alice@example.com")
    bob, bob_headers = user_with_headers(api_client, admin_headers, "bob@example.com")
    alice_key = api_client.post("/api/keys", json={"name": "alice-laptop"}, headers=alice_headers).json()
    bob_key = api_client.post("/api/keys", json={"name": "bob-ci"}, headers=bob_headers).json()
    rows = [
        (alice, alice_key, NOW - timedelta(hours=2), "claude-haiku-4-5", "anthropic", 100, 40, 0.25, Outcome.ok),
        (alice, alice_key, NOW - timedelta(hours=1), "claude-haiku-4-5", "anthropic", 300, 60, 0.75, Outcome.ok),
        (bob, bob_key, NOW - timedelta(days=1), "gpt-5", "openai", 1000, 500, 2.5, Outcome.ok),
        (bob, bob_key, NOW - timedelta(days=2), "gpt-5", "openai", 7, 0, 0.0, Outcome.upstream_error),
        (bob, bob_key, NOW - timedelta(days=30), "gpt-5", "openai", 5000, 5000, 50.0, Outcome.ok),
    ]
    engine = api_client.app.services.engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        insert_usage(
            session,
            [
                UsageRecord(
                    created_at=when, user_id=user["id"], api_key_id=key["id"], provider=provider,
                    provider_kind=provider, model=model, endpoint="/v1/messages", input_tokens=tokens_in,
                    output_tokens=tokens_out, cost_usd=cost, outcome=outcome, client="=cmd|' /C calc'!A0",
                )
                for user, key, when, model, provider, tokens_in, tokens_out, cost, outcome in rows
            ],
        )  # fmt: skip
        session.commit()
    return {
        "alice": alice, "bob": bob, "alice_headers": alice_headers, "bob_headers": bob_headers,
        "alice_key": alice_key, "bob_key": bob_key,
    }  # fmt: skip


def test_admin_summary_defaults_to_the_last_seven_days(
    api_client: TestClient, admin_headers: dict, people: dict
) -> None:
    summary = api_client.get("/api/usage/summary", headers=admin_headers).json()
    assert (summary["requests"], summary["input_tokens"], summary["output_tokens"], summary["cost_usd"]) == (
        4,
        1407,
        600,
        3.5,
    )
    start = datetime.fromisoformat(summary["start"])
    assert timedelta(days=6.99) < datetime.now(UTC) - start < timedelta(days=7.01)
    filtered = api_client.get(
        "/api/usage/summary",
        params={"user_ids": [people["bob"]["id"]], "models": ["gpt-5", "nope"], "outcome": "ok"},
        headers=admin_headers,
    ).json()
    assert (filtered["requests"], filtered["input_tokens"]) == (1, 1000)
    by_key = api_client.get(
        "/api/usage/summary", params={"api_key_ids": [people["alice_key"]["id"]]}, headers=admin_headers
    ).json()
    assert by_key["requests"] == 2
    month = api_client.get(
        "/api/usage/summary", params={"start": (NOW - timedelta(days=40)).isoformat()}, headers=admin_headers
    ).json()
    assert month["requests"] == 5


def test_users_see_only_their_own_usage(api_client: TestClient, people: dict) -> None:
    alice_headers, bob_id = people["alice_headers"], people["bob"]["id"]
    mine = api_client.get("/api/usage/summary", headers=alice_headers).json()
    assert (mine["requests"], mine["input_tokens"], mine["cost_usd"]) == (2, 400, 1.0)
    records = api_client.get("/api/usage/records", headers=alice_headers).json()
    assert records["total"] == 2 and {r["user_email"] for r in records["data"]} == {"alice@example.com"}
    assert api_client.get("/api/usage/summary", params={"user_ids": [bob_id]}, headers=alice_headers).status_code == 403
    stolen_key = api_client.get(
        "/api/usage/records", params={"api_key_ids": [people["bob_key"]["id"]]}, headers=alice_headers
    ).json()
    assert stolen_key["total"] == 0
    for path in ("timeseries", "breakdown", "filters"):
        body = api_client.get(f"/api/usage/{path}", params={"group_by": "user", "by": "user"}, headers=alice_headers)
        assert "bob" not in body.text, path
    export = api_client.get("/api/usage/export.csv", headers=alice_headers).text
    assert "bob" not in export and export.count("alice@example.com") == 2
    assert api_client.get("/api/usage/summary").status_code == 401


def test_records_pagination_and_filters(api_client: TestClient, admin_headers: dict, people: dict) -> None:
    first = api_client.get("/api/usage/records", params={"limit": 3}, headers=admin_headers).json()
    assert (first["total"], first["limit"], first["offset"], len(first["data"])) == (4, 3, 0, 3)
    assert [r["input_tokens"] for r in first["data"]] == [300, 100, 1000]
    assert first["data"][0]["api_key_name"] == "alice-laptop"
    rest = api_client.get("/api/usage/records", params={"limit": 3, "offset": 3}, headers=admin_headers).json()
    assert [r["outcome"] for r in rest["data"]] == ["upstream_error"]
    openai = api_client.get("/api/usage/records", params={"provider": "openai"}, headers=admin_headers).json()
    assert openai["total"] == 2
    assert api_client.get("/api/usage/records", params={"limit": 0}, headers=admin_headers).status_code == 422


def test_timeseries_breakdown_and_filter_options(api_client: TestClient, admin_headers: dict, people: dict) -> None:
    series = api_client.get(
        "/api/usage/timeseries", params={"bucket": "day", "group_by": "user"}, headers=admin_headers
    ).json()
    assert series["series"] == ["bob@example.com", "alice@example.com"]
    assert len(series["points"]) == 8  # seven days back to today, both ends included
    totals: dict[str, float] = {}
    for point in series["points"]:
        for name, value in point["series"].items():
            totals[name] = totals.get(name, 0) + value
    assert totals == {"bob@example.com": 1507, "alice@example.com": 500}
    tokens = api_client.get("/api/usage/timeseries", params={"bucket": "hour"}, headers=admin_headers).json()
    assert tokens["series"] == ["input", "cache_read", "cache_write", "output"]
    assert sum(p["series"]["output"] for p in tokens["points"]) == 600
    keys = api_client.get("/api/usage/timeseries", params={"group_by": "key"}, headers=admin_headers).json()
    assert any(name.startswith("alice-laptop (") for name in keys["series"])

    breakdown = api_client.get("/api/usage/breakdown", params={"by": "model"}, headers=admin_headers).json()
    assert [(r["label"], r["requests"], r["cost_usd"]) for r in breakdown["data"]] == [
        ("gpt-5", 2, 2.5),
        ("claude-haiku-4-5", 2, 1.0),
    ]
    options = api_client.get("/api/usage/filters", headers=admin_headers).json()
    assert [u["email"] for u in options["users"]] == ["alice@example.com", "bob@example.com"]
    assert options["models"] == ["claude-haiku-4-5", "gpt-5"]
    assert {k["name"] for k in options["api_keys"]} == {"alice-laptop", "bob-ci"}


def test_csv_export_has_the_filtered_records(api_client: TestClient, admin_headers: dict, people: dict) -> None:
    response = api_client.get("/api/usage/export.csv", params={"models": ["gpt-5"]}, headers=admin_headers)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["user_email"], r["input_tokens"], r["outcome"]) for r in rows] == [
        ("bob@example.com", "1000", "ok"),
        ("bob@example.com", "7", "upstream_error"),
    ]
    assert rows[0]["client"].startswith("'="), "spreadsheet formulas from clients are defused"


def test_bad_usage_queries_name_the_parameter(api_client: TestClient, admin_headers: dict) -> None:
    backwards = api_client.get(
        "/api/usage/summary",
        params={"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"},
        headers=admin_headers,
    )
    assert backwards.status_code == 422 and detail_message(backwards).startswith("end:")
    too_fine = api_client.get(
        "/api/usage/timeseries",
        params={"bucket": "hour", "start": "2020-01-01T00:00:00", "end": "2026-01-01T00:00:00"},
        headers=admin_headers,
    )
    assert too_fine.status_code == 422 and detail_message(too_fine).startswith("bucket:")
    bad_group = api_client.get("/api/usage/timeseries", params={"group_by": "weather"}, headers=admin_headers)
    assert bad_group.status_code == 422 and detail_message(bad_group).startswith("group_by:")
    naive = api_client.get("/api/usage/summary", params={"start": "2026-01-01T00:00:00"}, headers=admin_headers)
    assert naive.status_code == 200 and naive.json()["start"].startswith("2026-01-01T00:00:00")


def test_failed_calls_and_unpriced_models_are_reported(
    api_client: TestClient, admin_headers: dict, people: dict
) -> None:
    """Bob's upstream_error is counted as a failed request; claude-haiku-4-5 (shipped price) and gpt-5 (no price)
    are gateway models, and only the one without a price is named."""
    provider = api_client.post(
        "/api/providers", json={"name": "openai", "kind": "openai", "credential": "sk-0001"}, headers=admin_headers
    ).json()
    for name, prices in (("claude-haiku-4-5", {}), ("gpt-5", {"price_input": 1.25})):
        body = {"provider_id": provider["id"], "name": name, **prices}
        assert api_client.post("/api/models", json=body, headers=admin_headers).status_code == 201
    unpriced = api_client.get("/api/models", params={"q": "gpt-5"}, headers=admin_headers).json()["data"][0]
    api_client.patch(f"/api/models/{unpriced['id']}", json={"price_output": None}, headers=admin_headers)

    summary = api_client.get("/api/usage/summary", headers=admin_headers).json()
    assert (summary["requests"], summary["failed_requests"]) == (4, 1)
    assert summary["unpriced_models"] == ["gpt-5"]
    alice_only = api_client.get(
        "/api/usage/summary", params={"user_ids": [people["alice"]["id"]]}, headers=admin_headers
    ).json()
    assert (alice_only["failed_requests"], alice_only["unpriced_models"]) == (0, [])
    models = api_client.get("/api/usage/breakdown", params={"by": "model"}, headers=admin_headers).json()["data"]
    assert [(m["key"], m["failed_requests"], m["price_known"]) for m in models] == [
        ("gpt-5", 1, False),
        ("claude-haiku-4-5", 0, True),
    ]
    users = api_client.get("/api/usage/breakdown", params={"by": "user"}, headers=admin_headers).json()["data"]
    assert [(u["label"], u["failed_requests"], u["price_known"]) for u in users] == [
        ("bob@example.com", 1, None),
        ("alice@example.com", 0, None),
    ]


def test_spend_over_time_is_one_series_by_token_type_and_one_per_model_otherwise(
    api_client: TestClient, admin_headers: dict, people: dict
) -> None:
    total = api_client.get(
        "/api/usage/timeseries", params={"metric": "cost_usd", "bucket": "hour"}, headers=admin_headers
    ).json()
    assert (total["metric"], total["series"]) == ("cost_usd", ["cost_usd"])
    assert sum(p["series"]["cost_usd"] for p in total["points"]) == pytest.approx(3.5)
    by_model = api_client.get(
        "/api/usage/timeseries", params={"metric": "cost_usd", "group_by": "model"}, headers=admin_headers
    ).json()
    assert by_model["series"] == ["gpt-5", "claude-haiku-4-5"]


def test_csv_costs_are_plain_decimals(api_client: TestClient, admin_headers: dict, people: dict) -> None:
    engine = api_client.app.services.engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        insert_usage(
            session,
            [
                UsageRecord(
                    created_at=NOW, user_id=people["alice"]["id"], api_key_id=people["alice_key"]["id"],
                    provider="anthropic", provider_kind="anthropic", model="claude-tiny", endpoint="/v1/messages",
                    input_tokens=19, output_tokens=1, cost_usd=2.375e-05, latency_ms=0.00005,
                )
            ],
        )  # fmt: skip
        session.commit()
    response = api_client.get("/api/usage/export.csv", params={"models": ["claude-tiny"]}, headers=admin_headers)
    [row] = list(csv.DictReader(io.StringIO(response.text)))
    assert (row["cost_usd"], row["latency_ms"]) == ("0.00002375", "0.00005")
    assert "e-0" not in response.text


def test_estimated_calls_are_marked_in_records_and_csv(
    api_client: TestClient, admin_headers: dict, people: dict
) -> None:
    engine = api_client.app.services.engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        insert_usage(
            session,
            [
                UsageRecord(
                    created_at=NOW, user_id=people["alice"]["id"], api_key_id=people["alice_key"]["id"],
                    provider="anthropic", provider_kind="anthropic", model="claude-cut", endpoint="messages",
                    input_tokens=1210, output_tokens=57, outcome=Outcome.client_closed, usage_estimated=True,
                )
            ],
        )  # fmt: skip
        session.commit()

    records = api_client.get("/api/usage/records", headers=admin_headers).json()["data"]
    export = api_client.get("/api/usage/export.csv", headers=admin_headers).text
    summary = api_client.get("/api/usage/summary", headers=admin_headers).json()
    bobs_only = api_client.get("/api/usage/summary", headers=people["bob_headers"]).json()

    assert (summary["requests"], summary["estimated_requests"]) == (5, 1)
    assert bobs_only["estimated_requests"] == 0  # Bob sees only his own calls, none of them estimated

    assert {(r["model"], r["usage_estimated"]) for r in records} >= {("claude-cut", True), ("gpt-5", False)}
    rows = {row["model"]: row["usage_estimated"] for row in csv.DictReader(io.StringIO(export))}
    assert (rows["claude-cut"], rows["gpt-5"]) == ("True", "False")  # as the streamed column
