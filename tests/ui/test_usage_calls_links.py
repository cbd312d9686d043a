"""Token Usage <-> LLM Calls in Chromium: a bar (a model's or a user's card, a bucket of the timeline, one series
of it) opens the calls behind it, and the LLM Calls page links back to Token Usage for its filters."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.support.fakes.upstream import FakeUpstream
from tests.ui.conftest import UiServer
from tests.ui.seed import AdminApi, login_token, open_signed_in, unique_tag
from tests.ui.test_usage_page import _anthropic_call, _openai_call, _wait_for_requests

USAGE = "/llm-gateway/usage"
CALLS = "/llm-gateway/calls"
CLAUDE_CALLS = 2


@dataclass(frozen=True)
class LinkWorld:
    user_id: int
    user_email: str
    claude_model: str
    gpt_model: str


@pytest.fixture(scope="module")
def link_world(ui_server: UiServer, fake_upstream_server: FakeUpstream) -> Iterator[LinkWorld]:
    """A user with two Claude calls and one GPT call, made through the proxy with an llm key."""
    admin = AdminApi(ui_server)
    tag = unique_tag()
    claude, gpt = f"claude-links-{tag}", f"gpt-links-{tag}"
    anthropic_id = admin.create_provider(f"links-anthropic-{tag}", "anthropic", fake_upstream_server.anthropic_base_url)
    openai_id = admin.create_provider(f"links-openai-{tag}", "openai", fake_upstream_server.openai_base_url)
    admin.create_models(anthropic_id, [claude])
    admin.create_models(openai_id, [gpt])
    password = "links-user-password-1"
    user = admin.create_user(f"links-{tag}@example.com", password)
    admin.grant(f"links {tag}", f"user:{user.email}", [claude, gpt])
    key = login_token(ui_server.url, user.email, password, scope="llm")
    try:
        for _ in range(CLAUDE_CALLS):
            _anthropic_call(ui_server.url, key, claude)
        _openai_call(ui_server.url, key, gpt)
    finally:
        fake_upstream_server.reset()
    assert _wait_for_requests(admin, user.id, CLAUDE_CALLS + 1)["requests"] == CLAUDE_CALLS + 1
    yield LinkWorld(user.id, user.email, claude, gpt)
    admin.close()


def _days() -> tuple[str, str, str]:
    """The default view's first day, today and tomorrow (UTC)."""
    today = datetime.now(UTC).date()
    return (today - timedelta(days=6)).isoformat(), today.isoformat(), (today + timedelta(days=1)).isoformat()


def _expect_calls_url(page: Page, **params: str) -> None:
    expect(page).to_have_url(re.compile(re.escape(CALLS) + r"/?\?"))
    for name, value in params.items():
        expect(page).to_have_url(re.compile(rf"[?&]{name}={re.escape(value)}(&|$)"))


def test_a_model_card_opens_its_calls_and_the_calls_page_links_back(
    page: Page, ui_server: UiServer, link_world: LinkWorld
) -> None:
    first, _, tomorrow = _days()
    open_signed_in(page, USAGE, ui_server.admin_email, ui_server.admin_password)
    page.goto(f"{USAGE}?users={link_world.user_id}")
    claude = page.get_by_test_id("breakdown-models").get_by_test_id("breakdown-card").filter(has_text="claude-links")
    expect(claude).to_contain_text(link_world.claude_model)

    claude.get_by_test_id("usage-bar").click()

    _expect_calls_url(
        page,
        model=link_world.claude_model,
        user=str(link_world.user_id),
        **{"from": f"{first}T00%3A00%3A00", "to": f"{tomorrow}T00%3A00%3A00"},
    )
    rows = page.get_by_test_id("call-row")
    expect(rows).to_have_count(CLAUDE_CALLS, timeout=30_000)
    expect(rows.first).to_contain_text(link_world.claude_model)
    expect(page.get_by_test_id("chip-user")).to_contain_text(link_world.user_email)
    expect(page.get_by_test_id("filter-model")).to_have_value(link_world.claude_model)

    page.get_by_test_id("usage-link").click()

    expect(page).to_have_url(re.compile(re.escape(USAGE) + r"/?\?"))
    for part in (f"from={first}", f"users={link_world.user_id}", f"models={link_world.claude_model}"):
        expect(page).to_have_url(re.compile(re.escape(part)))
    expect(page.get_by_test_id("stat-requests")).to_have_text(str(CLAUDE_CALLS))


def test_a_user_card_opens_that_users_calls_and_a_filter_chip_can_be_removed(
    page: Page, ui_server: UiServer, link_world: LinkWorld
) -> None:
    open_signed_in(page, USAGE, ui_server.admin_email, ui_server.admin_password)
    page.goto(f"{USAGE}?models={link_world.gpt_model}")
    card = (
        page.get_by_test_id("breakdown-users").get_by_test_id("breakdown-card").filter(has_text=link_world.user_email)
    )

    card.get_by_test_id("card-calls").click()

    _expect_calls_url(page, user=str(link_world.user_id), model=link_world.gpt_model)
    rows = page.get_by_test_id("call-row")
    expect(rows).to_have_count(1, timeout=30_000)
    expect(rows.first).to_contain_text(link_world.user_email)

    # Clearing the model field keeps the user (a hidden field of the form): every call of the user.
    page.get_by_test_id("filter-model").fill("")
    page.get_by_test_id("apply-filters").click()
    expect(rows).to_have_count(CLAUDE_CALLS + 1)
    _expect_calls_url(page, user=str(link_world.user_id))

    page.get_by_test_id("chip-user").get_by_role("button").click()
    expect(page.get_by_test_id("chip-user")).to_have_count(0)
    expect(page).not_to_have_url(re.compile(r"[?&]user="))


def test_a_timeline_bar_opens_the_calls_of_its_bucket_and_series(
    page: Page, ui_server: UiServer, link_world: LinkWorld
) -> None:
    _, today, tomorrow = _days()
    open_signed_in(page, USAGE, ui_server.admin_email, ui_server.admin_password)
    page.goto(f"{USAGE}?users={link_world.user_id}&group=model")
    timeline = page.get_by_test_id("usage-timeline")
    legend = timeline.locator(".recharts-legend-item-text")
    expect(legend).to_have_count(2)
    # One series per model, stacked in the legend's order.
    gpt_series = legend.all_text_contents().index(link_world.gpt_model)
    gpt_bars = timeline.locator(".recharts-bar-rectangles").nth(gpt_series).locator(".recharts-bar-rectangle")
    expect(gpt_bars.last).to_be_visible()

    gpt_bars.last.click()  # today's

    _expect_calls_url(
        page,
        model=link_world.gpt_model,
        user=str(link_world.user_id),
        **{"from": f"{today}T00%3A00%3A00", "to": f"{tomorrow}T00%3A00%3A00"},
    )
    rows = page.get_by_test_id("call-row")
    expect(rows).to_have_count(1, timeout=30_000)
    expect(rows.first).to_contain_text(link_world.gpt_model)

    # By token type the parts of a bar are no one's: any of them opens the whole bucket.
    page.goto(f"{USAGE}?users={link_world.user_id}")
    bars = page.get_by_test_id("usage-timeline").locator(".recharts-bar-rectangle")
    expect(bars.last).to_be_visible()
    bars.last.click()

    _expect_calls_url(page, user=str(link_world.user_id), **{"from": f"{today}T00%3A00%3A00"})
    expect(page).not_to_have_url(re.compile(r"[?&]model="))
    expect(rows).to_have_count(CLAUDE_CALLS + 1, timeout=30_000)
