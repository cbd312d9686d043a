"""The message policy judge's calls in Token Usage and the LLM call log: recorded by the real judge (fake upstream on
loopback), written through the usage writer, shown under the system actor, never as a user's."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from gateway_api.db.models import Outcome, UsageRecord
from gateway_api.message_policies.rules import PolicyScope
from gateway_api.usage.rows import UsageRow
from gateway_api.usage.system_actor import MESSAGE_POLICY_ACTOR, MESSAGE_POLICY_JUDGE
from gateway_api.usage.writer import insert_usage_records
from tests.api.helpers import user_with_headers
from tests.message_policies.judging.judge_support import POLICY, judge_rig
from tests.support.fakes.provider_bodies import FakeUsage
from tests.support.fakes.upstream import FakeUpstream
from tests.support.usage_writes import insert_usage

# Prices per million (judge_support.judge_model): input 1.0, output 5.0.
JUDGE_CALL_COST = (400 * 1.0 + 25 * 5.0) / 1_000_000


async def _judge_rows(fake_upstream: FakeUpstream) -> list[UsageRow]:
    """Two judge calls (two distinct texts: no cache hit) and one the upstream fails, as the judge records them."""
    fake_upstream.configure(
        reply_text='{"violation": false, "explanation": "fine"}', usage=FakeUsage(input_tokens=400, output_tokens=25)
    )
    async with judge_rig(fake_upstream, "anthropic") as rig:
        await rig.judge.judge(POLICY, PolicyScope.user_messages, "What is the capital of France?")
        await rig.judge.judge(POLICY, PolicyScope.user_messages, "Summarise this changelog.")
        fake_upstream.configure(error_status=500)
        await rig.judge.judge(POLICY, PolicyScope.user_messages, "A third text.")
    assert len(rig.rows) == 3
    return rig.rows


@pytest.fixture
def usage(api_client: TestClient, admin_headers: dict, fake_upstream: FakeUpstream) -> dict:
    """Erin's call, three judge calls and a refused call of an unknown key, in the last hour."""
    judge_rows = asyncio.run(_judge_rows(fake_upstream))
    erin, erin_headers = user_with_headers(api_client, admin_headers, "erin@example.com")
    key = api_client.post("/api/keys", json={"name": "erin-laptop"}, headers=erin_headers).json()
    now = datetime.now(UTC)
    engine = api_client.app.services.engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        insert_usage_records(session.connection(), judge_rows)  # the recorder's path: UsageRows as the judge made
        insert_usage(
            session,
            [
                UsageRecord(
                    created_at=now - timedelta(minutes=5), user_id=erin["id"], api_key_id=key["id"],
                    provider="anthropic-main", provider_kind="anthropic", model="claude-haiku-4-5",
                    endpoint="/v1/messages", input_tokens=1000, output_tokens=100, cost_usd=0.5, outcome=Outcome.ok,
                    client="claude-cli/2.0.14",
                ),
                UsageRecord(
                    created_at=now - timedelta(minutes=4), provider="anthropic-main", provider_kind="anthropic",
                    model="claude-haiku-4-5", endpoint="/v1/messages", status_code=401, outcome=Outcome.refused,
                    client="curl/8.5", refusal_reason="unknown key",
                ),
            ],
        )  # fmt: skip
        session.commit()
    return {"erin": erin, "erin_headers": erin_headers, "judge_rows": judge_rows}


def test_the_summary_shows_the_judges_spend_apart(api_client: TestClient, admin_headers: dict, usage: dict) -> None:
    summary = api_client.get("/api/usage/summary", headers=admin_headers).json()
    judge_cost = sum(row.cost_usd for row in usage["judge_rows"])
    assert judge_cost == pytest.approx(2 * JUDGE_CALL_COST)
    assert summary["requests"] == 4 and summary["failed_requests"] == 1  # the refused call is not counted
    assert summary["message_policy_requests"] == 3
    assert summary["message_policy_cost_usd"] == pytest.approx(judge_cost)
    assert summary["cost_usd"] == pytest.approx(0.5 + judge_cost)


def test_a_user_sees_none_of_the_judges_spend(api_client: TestClient, usage: dict) -> None:
    summary = api_client.get("/api/usage/summary", headers=usage["erin_headers"]).json()
    assert (summary["requests"], summary["message_policy_requests"], summary["message_policy_cost_usd"]) == (1, 0, 0)
    by_user = api_client.get("/api/usage/breakdown?by=user", headers=usage["erin_headers"]).json()["data"]
    assert [entry["label"] for entry in by_user] == ["erin@example.com"]


def test_breakdowns_and_charts_name_the_system_actor(api_client: TestClient, admin_headers: dict, usage: dict) -> None:
    by_user = api_client.get("/api/usage/breakdown?by=user", headers=admin_headers).json()["data"]
    labels = {entry["label"]: entry for entry in by_user}
    assert set(labels) == {"erin@example.com", MESSAGE_POLICY_ACTOR}
    judge = labels[MESSAGE_POLICY_ACTOR]
    assert (judge["key"], judge["requests"], judge["failed_requests"]) == ("", 3, 1)
    assert judge["cost_usd"] == pytest.approx(2 * JUDGE_CALL_COST)
    by_key = api_client.get("/api/usage/breakdown?by=key", headers=admin_headers).json()["data"]
    key_labels = sorted(entry["label"] for entry in by_key)
    assert len(key_labels) == 2 and key_labels[0].startswith("erin-laptop (") and key_labels[1] == MESSAGE_POLICY_ACTOR
    series = api_client.get(
        "/api/usage/timeseries?group_by=user&metric=cost_usd&bucket=hour", headers=admin_headers
    ).json()["series"]
    assert set(series) == {"erin@example.com", MESSAGE_POLICY_ACTOR}
    # Counting refused calls only, the calls without a user are the ones refused before a key was known.
    refused = api_client.get("/api/usage/breakdown?by=user&outcome=refused", headers=admin_headers).json()["data"]
    assert [entry["label"] for entry in refused] == ["(no user)"]


def test_records_and_the_csv_export_name_the_judge(api_client: TestClient, admin_headers: dict, usage: dict) -> None:
    records = api_client.get("/api/usage/records", headers=admin_headers).json()["data"]
    actors = {(r["user_email"], r["actor"], r["endpoint"]) for r in records}
    assert actors == {
        ("erin@example.com", None, "/v1/messages"),
        (None, MESSAGE_POLICY_JUDGE, "message_policy_judge"),
    }
    response = api_client.get("/api/usage/export.csv", headers=admin_headers)
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert sorted(row["user_email"] for row in rows) == ["erin@example.com", *[MESSAGE_POLICY_JUDGE] * 3]
    judged = [row for row in rows if row["user_email"] == MESSAGE_POLICY_JUDGE]
    assert {(row["endpoint"], row["client"], row["api_key_name"]) for row in judged} == {
        ("message_policy_judge", "gateway/message-policy", "")
    }


def test_the_call_log_names_the_judge(api_client: TestClient, admin_headers: dict, usage: dict) -> None:
    calls = api_client.get("/api/llm-calls", headers=admin_headers).json()["data"]
    who = sorted((c["user_email"] or "", c["actor"] or "", c["outcome"]) for c in calls)
    assert who == [
        ("", "", "refused"),  # an unknown key: no user, and not the judge
        ("", MESSAGE_POLICY_JUDGE, "ok"),
        ("", MESSAGE_POLICY_JUDGE, "ok"),
        ("", MESSAGE_POLICY_JUDGE, "upstream_error"),
        ("erin@example.com", "", "ok"),
    ]
    exported = api_client.get("/api/llm-calls/export", headers=admin_headers).text.splitlines()
    assert sum(f'"actor":"{MESSAGE_POLICY_JUDGE}"' in line for line in exported) == 3
