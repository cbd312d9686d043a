"""Token Usage and LLM Calls in Chromium: the message policy judge's calls (recorded by the real judge against the
fake upstream, written through the usage writer) show as the "message policies" system actor, never as a blank user.

The rows are dated on one day long ago with a model of their own, so the other pages' default views do not see them.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session

from gateway_api.db.engine import make_engine
from gateway_api.db.models import Outcome, UsageRecord
from gateway_api.message_policies.rules import PolicyScope
from gateway_api.usage.rows import UsageRow
from gateway_api.usage.system_actor import MESSAGE_POLICY_ACTOR, MESSAGE_POLICY_JUDGE
from gateway_api.usage.writer import insert_usage_records
from gateway_ui.state.usage_view import format_usd
from tests.message_policies.judging.judge_support import POLICY, judge_rig
from tests.support.fakes.provider_bodies import FakeUsage
from tests.support.fakes.upstream import FakeUpstream
from tests.support.usage_writes import insert_usage
from tests.ui.conftest import UiServer
from tests.ui.seed import AdminApi, open_signed_in, unique_tag

ROUTE = "/llm-gateway/usage"
CALLS_ROUTE = "/llm-gateway/calls"
DAY = date(2025, 4, 17)
JUDGE_CALLS = 3


@dataclasses.dataclass(frozen=True)
class JudgeWorld:
    model: str
    user_id: int
    user_email: str
    judge_cost: float


async def _judge_rows(upstream: FakeUpstream) -> list[UsageRow]:
    upstream.configure(
        reply_text='{"violation": false, "explanation": "fine"}', usage=FakeUsage(input_tokens=1200, output_tokens=40)
    )
    async with judge_rig(upstream, "anthropic") as rig:
        for index in range(JUDGE_CALLS):
            await rig.judge.judge(POLICY, PolicyScope.user_messages, f"message number {index}")
    return rig.rows


@pytest.fixture(scope="module")
def judge_world(ui_server: UiServer, fake_upstream_server: FakeUpstream) -> Iterator[JudgeWorld]:
    """A user's call and three judge calls on DAY, on a model of this module's own."""
    admin = AdminApi(ui_server)
    tag = unique_tag()
    user = admin.create_user(f"judged-{tag}@example.com", "judged-user-password-1")
    model = f"claude-judge-{tag}"
    try:
        # The judge runs on its own event loop, away from the browser driver's.
        with ThreadPoolExecutor(1) as pool:
            rows = pool.submit(asyncio.run, _judge_rows(fake_upstream_server)).result(timeout=60)
    finally:
        fake_upstream_server.reset()
    moment = datetime(DAY.year, DAY.month, DAY.day, 10, tzinfo=UTC)
    rows = [
        dataclasses.replace(row, created_at=moment + timedelta(minutes=i), model=model) for i, row in enumerate(rows)
    ]
    engine = make_engine(ui_server.database_url)
    try:
        with Session(engine) as session:
            insert_usage_records(session.connection(), rows)
            insert_usage(
                session,
                [
                    UsageRecord(
                        created_at=moment, user_id=user.id, provider=rows[0].provider, provider_kind="anthropic",
                        model=model, endpoint="/v1/messages", input_tokens=500, output_tokens=50, cost_usd=0.25,
                        outcome=Outcome.ok, client="claude-cli/2.0.14",
                    )
                ],
            )  # fmt: skip
            session.commit()
    finally:
        engine.dispose()
    yield JudgeWorld(model=model, user_id=user.id, user_email=user.email, judge_cost=sum(row.cost_usd for row in rows))
    admin.close()


def test_the_spend_card_and_the_user_cards_show_the_message_policy_cost(
    page: Page, ui_server: UiServer, judge_world: JudgeWorld
) -> None:
    assert judge_world.judge_cost > 0
    open_signed_in(page, ROUTE, ui_server.admin_email, ui_server.admin_password)
    page.goto(f"{ROUTE}?from={DAY.isoformat()}&to={DAY.isoformat()}&models={judge_world.model}")

    expect(page.get_by_test_id("stat-requests")).to_have_text(str(JUDGE_CALLS + 1))
    expect(page.get_by_test_id("stat-spend")).to_have_text(format_usd(0.25 + judge_world.judge_cost))
    expect(page.get_by_test_id("stat-message-policies")).to_have_text(
        f"of which message policies: {format_usd(judge_world.judge_cost)} ({JUDGE_CALLS} judge calls)"
    )
    users = page.get_by_test_id("breakdown-users")
    expect(users.get_by_test_id("breakdown-card")).to_have_count(2)
    judge_card = users.get_by_test_id("breakdown-card").filter(has_text=MESSAGE_POLICY_ACTOR)
    expect(judge_card).to_have_count(1)
    expect(judge_card).to_contain_text(format_usd(judge_world.judge_cost))
    expect(users.get_by_test_id("breakdown-card").filter(has_text=judge_world.user_email)).to_have_count(1)


def test_a_user_filter_leaves_the_judge_out(page: Page, ui_server: UiServer, judge_world: JudgeWorld) -> None:
    view = f"{ROUTE}?from={DAY.isoformat()}&to={DAY.isoformat()}&models={judge_world.model}"
    open_signed_in(page, ROUTE, ui_server.admin_email, ui_server.admin_password)
    page.goto(view)
    expect(page.get_by_test_id("stat-message-policies")).to_be_visible()
    page.goto(f"{view}&users={judge_world.user_id}")
    expect(page.get_by_test_id("stat-requests")).to_have_text("1")
    expect(page.get_by_test_id("stat-spend")).to_have_text(format_usd(0.25))
    expect(page.get_by_test_id("stat-message-policies")).to_have_count(0)
    expect(page.get_by_test_id("breakdown-users").get_by_text(MESSAGE_POLICY_ACTOR)).to_have_count(0)


def test_llm_calls_name_the_judge(page: Page, ui_server: UiServer, judge_world: JudgeWorld) -> None:
    open_signed_in(page, CALLS_ROUTE, ui_server.admin_email, ui_server.admin_password)
    page.goto(f"{CALLS_ROUTE}?model={judge_world.model}")
    rows = page.get_by_test_id("call-row")
    expect(rows).to_have_count(JUDGE_CALLS + 1)
    expect(rows.filter(has_text=MESSAGE_POLICY_JUDGE)).to_have_count(JUDGE_CALLS)
    expect(rows.filter(has_text=judge_world.user_email)).to_have_count(1)
    expect(rows.filter(has_text="unknown")).to_have_count(0)
