"""Token Usage page: real proxied calls through the running gateway show up in its totals, chart, filters and CSV."""

from __future__ import annotations

import csv
import io
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from gateway_ui.state.usage_view import format_usd
from tests.support.fakes.provider_bodies import FakeUsage
from tests.support.fakes.upstream import FakeUpstream
from tests.ui.conftest import NARROW_VIEWPORT, REPO_ROOT, UiServer
from tests.ui.seed import AdminApi, fits_the_viewport, login_token, open_signed_in, unique_tag

# 1440 px wide, tall enough that the sidebar and the page fit in one viewport-sized picture.
SCREENSHOT_VIEWPORT = {"width": 1440, "height": 1000}
SCREENSHOT = REPO_ROOT / "docs" / "screenshots" / "usage.png"
ROUTE = "/llm-gateway/usage"
# What the fake upstream reports per call, and what the gateway must record from it.
ANTHROPIC_USAGE = FakeUsage(input_tokens=100, output_tokens=40, cache_read_tokens=30, cache_write_tokens=10)
OPENAI_USAGE = FakeUsage(input_tokens=2000, output_tokens=50, cache_read_tokens=80)
# One call to a model priced $1 per million output tokens, nothing else: it costs $0.000032.
TINY_USAGE = FakeUsage(input_tokens=0, output_tokens=32)
TINY_PRICE = {"price_input": 0, "price_output": 1, "price_cache_read": 0, "price_cache_write": 0}
# The Claude model's price (USD per million tokens): what the spend figures are computed from.
CLAUDE_PRICE = {"price_input": 3, "price_output": 15, "price_cache_read": 0.3, "price_cache_write": 3.75}
ANTHROPIC_CALLS = 2
ANTHROPIC_RECORDED_INPUT = 100 + 30 + 10  # uncached + cache read + cache write
USER_CALLS = ANTHROPIC_CALLS + 2  # the Claude calls, one GPT call, one failed Claude call


@dataclass(frozen=True)
class UsageWorld:
    user_id: int
    user_email: str
    password: str
    html_user_email: str
    claude_model: str
    gpt_model: str
    tiny_model: str
    tiny_user_id: int


def _wait_for_requests(admin: AdminApi, user_id: int, count: int) -> dict:
    """Usage rows are written off the response path in batches: poll until they are all there."""
    deadline = time.monotonic() + 30
    while True:
        summary = admin.call("GET", "/api/usage/summary", params={"user_ids": [user_id]})
        if summary["requests"] >= count or time.monotonic() > deadline:
            return summary
        time.sleep(0.2)


def _anthropic_call(url: str, key: str, model: str) -> None:
    response = httpx.post(
        f"{url}/api/llm-proxy/anthropic/v1/messages",
        headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
        json={"model": model, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]},
        timeout=30,
    )
    assert response.status_code == 200, response.text


def _failing_anthropic_call(url: str, key: str, model: str) -> None:
    response = httpx.post(
        f"{url}/api/llm-proxy/anthropic/v1/messages",
        headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
        json={"model": model, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]},
        timeout=30,
    )
    assert response.status_code == 529, response.text


def _openai_call(url: str, key: str, model: str) -> None:
    response = httpx.post(
        f"{url}/api/llm-proxy/openai/v1/responses",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": model, "input": "hi"},
        timeout=30,
    )
    assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def usage_world(ui_server: UiServer, fake_upstream_server: FakeUpstream) -> Iterator[UsageWorld]:
    """Two providers on the fake upstream, a user granted one model of each, and real calls made with an llm key."""
    admin = AdminApi(ui_server)
    tag = unique_tag()
    claude, gpt, tiny = f"claude-usage-{tag}", f"gpt-usage-{tag}", f"claude-tiny-{tag}"
    anthropic_id = admin.create_provider(f"usage-anthropic-{tag}", "anthropic", fake_upstream_server.anthropic_base_url)
    openai_id = admin.create_provider(f"usage-openai-{tag}", "openai", fake_upstream_server.openai_base_url)
    admin.call("POST", "/api/models", json={"provider_id": anthropic_id, "name": claude, **CLAUDE_PRICE})
    admin.call("POST", "/api/models", json={"provider_id": anthropic_id, "name": tiny, **TINY_PRICE})
    admin.create_models(openai_id, [gpt])  # no list price for this name: its calls count $0
    password = "usage-user-password-1"
    user = admin.create_user(f"usage-{tag}@example.com", password)
    html_user = admin.create_user(f"<i>html-{tag}</i>@example.com", password)
    tiny_user = admin.create_user(f"usage-tiny-{tag}@example.com", password)
    admin.grant(f"usage {tag}", f"user:{user.email}", [claude, gpt])
    admin.grant(f"usage html {tag}", f"user:{html_user.email}", [gpt])
    admin.grant(f"usage tiny {tag}", f"user:{tiny_user.email}", [tiny])
    key = login_token(ui_server.url, user.email, password, scope="llm")
    html_key = login_token(ui_server.url, html_user.email, password, scope="llm")
    tiny_key = login_token(ui_server.url, tiny_user.email, password, scope="llm")
    try:
        fake_upstream_server.configure(usage=ANTHROPIC_USAGE)
        for _ in range(ANTHROPIC_CALLS):
            _anthropic_call(ui_server.url, key, claude)
        fake_upstream_server.configure(error_status=529, error_count=1)
        _failing_anthropic_call(ui_server.url, key, claude)
        fake_upstream_server.reset()
        fake_upstream_server.configure(usage=OPENAI_USAGE)
        _openai_call(ui_server.url, key, gpt)
        _openai_call(ui_server.url, html_key, gpt)
        fake_upstream_server.configure(usage=TINY_USAGE)
        _anthropic_call(ui_server.url, tiny_key, tiny)
    finally:
        fake_upstream_server.reset()
    assert _wait_for_requests(admin, user.id, USER_CALLS)["requests"] == USER_CALLS
    assert _wait_for_requests(admin, html_user.id, 1)["requests"] == 1
    assert _wait_for_requests(admin, tiny_user.id, 1)["requests"] == 1
    yield UsageWorld(user.id, user.email, password, html_user.email, claude, gpt, tiny, tiny_user.id)
    admin.close()


def _expect_totals(page: Page, requests: int, input_tokens: int, output_tokens: int, cached: int) -> None:
    expect(page.get_by_test_id("stat-requests")).to_have_text(f"{requests:,}")
    expect(page.get_by_test_id("stat-input")).to_have_text(f"{input_tokens:,}")
    expect(page.get_by_test_id("stat-output")).to_have_text(f"{output_tokens:,}")
    expect(page.get_by_test_id("stat-cached")).to_have_text(f"{cached:,}")


def _expected_spend(ui_server: UiServer, params: dict) -> str:
    admin = AdminApi(ui_server)
    try:
        return format_usd(admin.call("GET", "/api/usage/summary", params=params)["cost_usd"])
    finally:
        admin.close()


def test_totals_and_chart_show_the_proxied_calls_and_the_view_survives_a_reload(
    page: Page, ui_server: UiServer, usage_world: UsageWorld
) -> None:
    all_input = ANTHROPIC_CALLS * ANTHROPIC_RECORDED_INPUT + OPENAI_USAGE.input_tokens
    all_output = ANTHROPIC_CALLS * ANTHROPIC_USAGE.output_tokens + OPENAI_USAGE.output_tokens
    all_cached = ANTHROPIC_CALLS * ANTHROPIC_USAGE.cache_read_tokens + OPENAI_USAGE.cache_read_tokens
    route = f"{ROUTE}?users={usage_world.user_id}"
    open_signed_in(page, ROUTE, ui_server.admin_email, ui_server.admin_password)
    page.goto(route)

    _expect_totals(page, USER_CALLS, all_input, all_output, all_cached)
    expect(page.get_by_test_id("stat-failed")).to_have_text("1 failed")
    claude_cost = ANTHROPIC_CALLS * (100 * 3 + 30 * 0.3 + 10 * 3.75 + 40 * 15) / 1_000_000
    expect(page.get_by_test_id("stat-spend")).to_have_text(format_usd(claude_cost))
    assert format_usd(claude_cost) == _expected_spend(ui_server, {"user_ids": [usage_world.user_id]})
    # The GPT model has no price: the totals say so rather than pass its calls off as free.
    expect(page.get_by_test_id("stat-unpriced")).to_have_text(f"Price unknown, counted as $0: {usage_world.gpt_model}")
    expect(page.get_by_test_id("filter-chip")).to_contain_text(usage_world.user_email)
    timeline = page.get_by_test_id("usage-timeline")
    for series in ("Input (uncached)", "Cache read", "Cache write", "Output"):
        expect(timeline.locator(".recharts-legend-item-text", has_text=series)).to_be_visible()
    expect(timeline.locator(".recharts-bar-rectangle path").first).to_be_visible()

    page.reload()

    _expect_totals(page, USER_CALLS, all_input, all_output, all_cached)


def test_filters_change_the_totals_and_the_url(page: Page, ui_server: UiServer, usage_world: UsageWorld) -> None:
    open_signed_in(page, ROUTE, ui_server.admin_email, ui_server.admin_password)
    page.goto(f"{ROUTE}?users={usage_world.user_id}")
    expect(page.get_by_test_id("stat-requests")).to_have_text(str(USER_CALLS))

    page.get_by_test_id("filter-models-button").click()
    page.get_by_role("checkbox", name=usage_world.claude_model).click()
    page.keyboard.press("Escape")

    _expect_totals(
        page,
        ANTHROPIC_CALLS + 1,
        ANTHROPIC_CALLS * ANTHROPIC_RECORDED_INPUT,
        ANTHROPIC_CALLS * ANTHROPIC_USAGE.output_tokens,
        ANTHROPIC_CALLS * ANTHROPIC_USAGE.cache_read_tokens,
    )
    expect(page).to_have_url(re.compile(rf"models={re.escape(usage_world.claude_model)}"))
    expect(page).to_have_url(re.compile(rf"users={usage_world.user_id}"))

    page.get_by_test_id("usage-group-by").get_by_role("radio", name="Model").click()
    expect(page).to_have_url(re.compile(r"group=model"))
    legend = page.get_by_test_id("usage-timeline").locator(".recharts-legend-item-text")
    expect(legend).to_have_text([usage_world.claude_model])

    page.reload()

    expect(page.get_by_test_id("stat-requests")).to_have_text(str(ANTHROPIC_CALLS + 1))
    expect(legend).to_have_text([usage_world.claude_model])

    page.get_by_role("button", name=f"Remove Model filter {usage_world.claude_model}").click()

    expect(page.get_by_test_id("stat-requests")).to_have_text(str(USER_CALLS))
    expect(page).not_to_have_url(re.compile(r"models="))


def test_date_range_defaults_to_the_last_seven_days_and_an_old_range_is_empty(
    page: Page, ui_server: UiServer, usage_world: UsageWorld
) -> None:
    today = datetime.now(UTC).date()
    open_signed_in(page, ROUTE, ui_server.admin_email, ui_server.admin_password)
    page.goto(f"{ROUTE}?users={usage_world.user_id}")
    expect(page.get_by_test_id("usage-from")).to_have_value((today - timedelta(days=6)).isoformat())
    expect(page.get_by_test_id("usage-to")).to_have_value(today.isoformat())
    expect(page.get_by_test_id("stat-requests")).to_have_text(str(USER_CALLS))

    old_day = (today - timedelta(days=60)).isoformat()
    page.get_by_test_id("usage-to").fill(old_day)

    expect(page.get_by_test_id("stat-requests")).to_have_text("0")
    expect(page).to_have_url(re.compile(rf"to={old_day}"))
    expect(page.get_by_text("No usage in this view")).to_be_visible()


def test_csv_download_contains_the_filtered_records(page: Page, ui_server: UiServer, usage_world: UsageWorld) -> None:
    open_signed_in(page, ROUTE, ui_server.admin_email, ui_server.admin_password)
    page.goto(f"{ROUTE}?users={usage_world.user_id}&models={usage_world.gpt_model}")
    expect(page.get_by_test_id("stat-requests")).to_have_text("1")

    with page.expect_download() as download_info:
        page.get_by_test_id("usage-export").click()

    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(download.path().read_text(encoding="utf-8"))))
    assert [(r["user_email"], r["model"], r["input_tokens"], r["output_tokens"]) for r in rows] == [
        (usage_world.user_email, usage_world.gpt_model, str(OPENAI_USAGE.input_tokens), str(OPENAI_USAGE.output_tokens))
    ]


def test_breakdowns_search_and_names_render_as_text(page: Page, ui_server: UiServer, usage_world: UsageWorld) -> None:
    open_signed_in(page, ROUTE, ui_server.admin_email, ui_server.admin_password)
    page.goto(f"{ROUTE}?models={usage_world.gpt_model}")
    users = page.get_by_test_id("breakdown-users")
    expect(users.get_by_test_id("breakdown-card")).to_have_count(2)
    expect(users.get_by_text(usage_world.html_user_email, exact=True)).to_be_visible()
    expect(page.locator("main i", has_text="html-")).to_have_count(0)

    users.get_by_test_id("breakdown-users-search").fill("html-")

    expect(users.get_by_test_id("breakdown-card")).to_have_count(1)
    expect(users.get_by_test_id("breakdown-card")).to_contain_text(usage_world.html_user_email)
    models = page.get_by_test_id("breakdown-models")
    expect(models.get_by_test_id("breakdown-card")).to_have_count(1)
    expect(models.get_by_test_id("breakdown-card")).to_contain_text(usage_world.gpt_model)


def _bar_width(card: Locator) -> float:
    return sum(box["width"] for part in card.get_by_test_id("bar-part").all() if (box := part.bounding_box()))


def test_cards_share_one_scale_and_mark_failures_and_unknown_prices(
    page: Page, ui_server: UiServer, usage_world: UsageWorld
) -> None:
    open_signed_in(page, ROUTE, ui_server.admin_email, ui_server.admin_password)
    page.goto(f"{ROUTE}?users={usage_world.user_id}")
    models = page.get_by_test_id("breakdown-models")
    claude = models.get_by_test_id("breakdown-card").filter(has_text=usage_world.claude_model)
    gpt = models.get_by_test_id("breakdown-card").filter(has_text=usage_world.gpt_model)
    expect(claude).to_be_visible()

    claude_tokens = ANTHROPIC_CALLS * (ANTHROPIC_RECORDED_INPUT + ANTHROPIC_USAGE.output_tokens)
    gpt_tokens = OPENAI_USAGE.input_tokens + OPENAI_USAGE.output_tokens
    expect(claude).to_contain_text(f"{claude_tokens:,} tokens")
    expect(gpt).to_contain_text(f"{gpt_tokens:,} tokens")
    # One scale: the smaller card's bar is that much shorter (each card scaled to itself would draw both full).
    assert _bar_width(claude) / _bar_width(gpt) == pytest.approx(claude_tokens / gpt_tokens, abs=0.02)
    expect(claude.get_by_test_id("card-failed")).to_have_text("1 failed")
    expect(gpt.get_by_test_id("card-failed")).to_have_count(0)
    expect(gpt.get_by_test_id("no-price")).to_have_text("price unknown")
    expect(claude.get_by_test_id("no-price")).to_have_count(0)
    # Input without the cache reads (cache writes are input the provider stored), then cache reads, then output.
    expect(claude.get_by_test_id("usage-bar")).to_have_attribute(
        "title", f"Input: {2 * (100 + 10):,} · Cache read: {2 * 30:,} · Output: {2 * 40:,}"
    )


def _hover_last_bar(page: Page) -> str:
    """The chart's tooltip for the last (today's) bucket."""
    timeline = page.get_by_test_id("usage-timeline")
    bars = timeline.locator(".recharts-bar-rectangle")
    expect(bars.last).to_be_visible()
    bars.last.hover()
    tooltip = timeline.locator(".recharts-tooltip-wrapper")
    expect(tooltip).to_be_visible()
    return tooltip.inner_text()


def test_chart_numbers_have_thousands_separators_and_spend_is_a_switch_away(
    page: Page, ui_server: UiServer, usage_world: UsageWorld
) -> None:
    open_signed_in(page, ROUTE, ui_server.admin_email, ui_server.admin_password)
    page.goto(f"{ROUTE}?users={usage_world.user_id}")
    uncached = ANTHROPIC_CALLS * 100 + OPENAI_USAGE.input_tokens - OPENAI_USAGE.cache_read_tokens
    assert uncached >= 1000

    assert f"Input (uncached) : {uncached:,}" in _hover_last_bar(page)

    page.get_by_test_id("usage-measure").get_by_role("radio", name="Spend").click()

    expect(page.get_by_role("heading", name="Spend over time")).to_be_visible()
    expect(page).to_have_url(re.compile(r"measure=spend"))
    ticks = page.get_by_test_id("usage-timeline").locator(
        ".recharts-yAxis-tick-labels .recharts-cartesian-axis-tick-value"
    )
    expect(ticks.first).to_have_text(re.compile(r"^\$"))
    claude_cost = ANTHROPIC_CALLS * (100 * 3 + 30 * 0.3 + 10 * 3.75 + 40 * 15) / 1_000_000
    assert f"Spend : {format_usd(claude_cost)}" in _hover_last_bar(page)
    page.get_by_test_id("usage-group-by").get_by_role("radio", name="Model").click()
    legend = page.get_by_test_id("usage-timeline").locator(".recharts-legend-item-text")
    expect(legend).to_have_text([usage_world.claude_model, usage_world.gpt_model])

    page.reload()
    expect(page.get_by_role("heading", name="Spend over time")).to_be_visible()


def test_today_and_two_days_are_shown_by_the_hour(page: Page, ui_server: UiServer, usage_world: UsageWorld) -> None:
    today = datetime.now(UTC).date()
    open_signed_in(page, ROUTE, ui_server.admin_email, ui_server.admin_password)
    page.goto(f"{ROUTE}?users={usage_world.user_id}")
    ticks = page.get_by_test_id("usage-timeline").locator(
        ".recharts-xAxis-tick-labels .recharts-cartesian-axis-tick-value"
    )
    expect(ticks.first).not_to_have_text(re.compile(r":00$"))  # seven days: one bar per day

    page.get_by_test_id("usage-last-1").click()

    expect(page).to_have_url(re.compile(rf"from={today.isoformat()}&to={today.isoformat()}"))
    expect(ticks.first).to_have_text(re.compile(r"\d{2}:00$"))
    expect(page.get_by_test_id("stat-requests")).to_have_text(str(USER_CALLS))
    page.get_by_test_id("usage-last-2").click()
    expect(page.get_by_test_id("usage-from")).to_have_value((today - timedelta(days=1)).isoformat())
    expect(ticks.first).to_have_text(re.compile(r"\d{2}:00$"))


def test_a_cost_under_a_cent_keeps_its_digits(page: Page, ui_server: UiServer, usage_world: UsageWorld) -> None:
    open_signed_in(page, ROUTE, ui_server.admin_email, ui_server.admin_password)
    page.goto(f"{ROUTE}?users={usage_world.tiny_user_id}")

    expect(page.get_by_test_id("stat-spend")).to_have_text("$0.000032")
    card = page.get_by_test_id("breakdown-models").get_by_test_id("breakdown-card")
    expect(card).to_contain_text("$0.000032")
    with page.expect_download() as download_info:
        page.get_by_test_id("usage-export").click()
    [row] = list(csv.DictReader(io.StringIO(download_info.value.path().read_text(encoding="utf-8"))))
    assert (row["model"], row["cost_usd"]) == (usage_world.tiny_model, "0.000032")


def test_filter_choices_keep_each_label_on_one_line_beside_its_box(
    page: Page, ui_server: UiServer, usage_world: UsageWorld
) -> None:
    open_signed_in(page, ROUTE, ui_server.admin_email, ui_server.admin_password)
    page.goto(ROUTE)
    for picker in ("filter-users", "filter-keys"):
        page.get_by_test_id(f"{picker}-button").click()
        options = page.get_by_test_id(f"{picker}-option")
        expect(options.first).to_be_visible()
        for option in options.all()[:6]:
            box = option.get_by_role("checkbox").bounding_box()
            text = option.locator("p, span").last.bounding_box()
            line = option.bounding_box()
            assert box and text and line
            assert line["height"] < 2 * box["height"] + 8, "a label wrapped onto more lines"
            # Beside, not below: a wrapped or dropped label is a whole line lower. Less than that is a font's
            # baseline (a name in another script, drawn by a fallback font, sits a few pixels lower).
            assert (
                text["x"] >= box["x"] + box["width"]
                and abs((text["y"] + text["height"] / 2) - (box["y"] + box["height"] / 2)) < box["height"] / 2
            ), "the label sits beside its box"
        page.keyboard.press("Escape")
    assert fits_the_viewport(page)


def test_layout_at_phone_width_and_screenshot(
    new_page: Callable[..., Page], ui_server: UiServer, usage_world: UsageWorld
) -> None:
    narrow = new_page(NARROW_VIEWPORT)
    open_signed_in(narrow, ROUTE, ui_server.admin_email, ui_server.admin_password)
    expect(narrow.get_by_test_id("stat-requests")).not_to_have_text("0")
    assert fits_the_viewport(narrow)
    narrow.get_by_test_id("usage-measure").get_by_role("radio", name="Spend").click()
    narrow.get_by_test_id("usage-last-1").click()
    expect(narrow.get_by_role("heading", name="Spend over time")).to_be_visible()
    expect(narrow.get_by_test_id("breakdown-models").get_by_test_id("usage-bar").first).to_be_visible()
    assert fits_the_viewport(narrow)
    narrow.get_by_test_id("filter-keys-button").click()
    options = narrow.get_by_test_id("filter-keys-options")
    expect(options).to_be_visible()
    box = options.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= NARROW_VIEWPORT["width"]

    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        wide = new_page(SCREENSHOT_VIEWPORT)
        open_signed_in(wide, ROUTE, ui_server.admin_email, ui_server.admin_password)
        expect(wide.get_by_test_id("usage-timeline")).to_be_visible()
        wide.wait_for_timeout(500)  # let the chart finish laying out
        wide.mouse.move(0, 0)
        wide.screenshot(path=SCREENSHOT)


def test_calls_cut_before_their_usage_are_marked_estimated(
    page: Page, ui_server: UiServer, fake_upstream_server: FakeUpstream, usage_world: UsageWorld
) -> None:
    admin = AdminApi(ui_server)
    tag = unique_tag()
    password = "usage-cut-password-1"
    user = admin.create_user(f"usage-cut-{tag}@example.com", password)
    admin.grant(f"usage cut {tag}", f"user:{user.email}", [usage_world.claude_model])
    key = login_token(ui_server.url, user.email, password, scope="llm")
    fake_upstream_server.configure(usage=ANTHROPIC_USAGE, drop_after_bytes=1200)  # after message_start and text
    try:
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.post(
                f"{ui_server.url}/api/llm-proxy/anthropic/v1/messages",
                headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
                json={"model": usage_world.claude_model, "max_tokens": 16, "stream": True, "messages": []},
                timeout=30,
            )
    finally:
        fake_upstream_server.reset()
    assert _wait_for_requests(admin, user.id, 1)["estimated_requests"] == 1
    admin.close()
    open_signed_in(page, ROUTE, ui_server.admin_email, ui_server.admin_password)
    page.goto(f"{ROUTE}?users={usage_world.user_id}")
    expect(page.get_by_test_id("stat-failed")).to_have_text("1 failed")
    expect(page.get_by_test_id("stat-estimated")).to_have_count(0)

    page.goto(f"{ROUTE}?users={user.id}")

    estimated = page.get_by_test_id("stat-estimated")
    expect(estimated).to_have_text("1 estimated")
    expect(estimated).to_have_attribute("title", re.compile("cut before the provider reported its usage"))
    expect(page.get_by_test_id("stat-input")).to_have_text(f"{ANTHROPIC_RECORDED_INPUT:,}")  # message_start's figures
