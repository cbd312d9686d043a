"""LLM Calls page: refused calls made through the running gateway are listed, filters live in the URL, and a call
opens in the drawer with its status, reason and client."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable

import httpx
from playwright.sync_api import Locator, Page, expect

from tests.support.fakes.provider_bodies import FakeUsage
from tests.support.fakes.upstream import FakeUpstream
from tests.ui.conftest import REPO_ROOT, UiServer
from tests.ui.seed import AdminApi, from_own_address, login_token, open_signed_in, unique_tag
from tests.ui.test_usage_page import CLAUDE_PRICE

ROUTE = "/llm-gateway/calls"
SCREENSHOT = REPO_ROOT / "docs" / "screenshots" / "llm-calls.png"
REFUSED_CALLS_ADDRESS = "127.0.0.3"  # unknown keys count as failed guesses: see from_own_address
SCREENSHOT_VIEWPORT = {"width": 1440, "height": 1000}


def _refused_call(url: str, session: str, key: str) -> None:
    with from_own_address(REFUSED_CALLS_ADDRESS) as client:
        response = client.post(
            f"{url}/api/llm-proxy/anthropic/v1/messages",
            headers={"x-api-key": key, "x-claude-code-session-id": session, "user-agent": "calls-page-test/1.0"},
            json={"model": "claude-haiku-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]},
        )
    assert response.status_code == 401, response.text


def test_refused_calls_are_listed_filtered_by_the_url_and_open_in_the_drawer(page: Page, ui_server: UiServer) -> None:
    session = f"calls-{unique_tag()}"
    for index in range(3):
        _refused_call(ui_server.url, session, f"gwk_{'Z' * 20}{index}")

    open_signed_in(page, ROUTE, ui_server.admin_email, ui_server.admin_password)
    page.goto(f"{ROUTE}?session={session}")

    rows = page.get_by_test_id("call-row")
    expect(rows).to_have_count(3, timeout=30_000)  # the rows are written within a flush interval
    expect(rows.first).to_contain_text("401")
    expect(rows.first).to_contain_text("gwk_ZZZZZZZZ")  # an unknown key is named by its prefix only
    expect(page.get_by_test_id("filter-session")).to_have_value(session)

    page.get_by_test_id("filter-outcome").select_option("ok")
    page.get_by_test_id("apply-filters").click()
    expect(page).to_have_url(re.compile(re.escape(ROUTE) + r"/?" + re.escape(f"?outcome=ok&session={session}") + "$"))
    expect(page.get_by_test_id("calls-empty")).to_be_visible()

    page.go_back()
    expect(rows).to_have_count(3)
    rows.first.click()
    drawer = page.get_by_test_id("call-drawer")
    expect(drawer).to_be_visible()
    fields = page.get_by_test_id("call-fields")
    expect(fields).to_contain_text("invalid API key")
    expect(fields).to_contain_text("calls-page-test/1.0")
    expect(fields).to_contain_text(REFUSED_CALLS_ADDRESS)
    expect(fields).to_contain_text("POST /api/llm-proxy/anthropic/v1/messages")


def _right_gap(page: Page, element: Locator) -> float:
    """How far the element's right edge stops short of the window's, once its slide-in animation is over."""
    width = page.viewport_size["width"] if page.viewport_size else 0
    gap = float(width)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        box = element.bounding_box()
        gap = abs(width - (box["x"] + box["width"])) if box else float(width)
        if gap < 2:
            break
        page.wait_for_timeout(100)
    return gap


# A Claude Code turn as it sends it (trimmed): a system prompt, the user's request, a tool call and its result.
CLAUDE_CODE_HEADERS = {
    "user-agent": "claude-cli/2.1.197 (external, cli)",
    "x-claude-code-session-id": "401bd591-c013-4a4d-aee1-ce14919f8ce2",
    "anthropic-version": "2023-06-01",
    "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14",
    "x-app": "cli",
}
CLAUDE_CODE_BODY = {
    "max_tokens": 32000,
    "system": [{"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."}],
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "Why does test_refused_rows fail on PostgreSQL?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me run the test to see the failure."},
                {
                    "type": "tool_use",
                    "id": "toolu_01",
                    "name": "Bash",
                    "input": {"command": "pytest -q tests/proxy/test_refused_rows.py", "description": "Run the test"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_01",
                    "content": "E  psycopg.DataError: PostgreSQL text fields cannot contain NUL (0x00) bytes",
                }
            ],
        },
    ],
    "tools": [{"name": "Bash", "description": "Run a shell command", "input_schema": {"type": "object"}}],
}
REPLY = (
    "The path of the refused call carries a percent-encoded NUL (%00), and PostgreSQL refuses NUL in text "
    "columns, so the row is lost. Replace NUL with U+FFFD before the row is written."
)


def test_an_auditor_reads_a_calls_messages_in_the_drawer_and_screenshot(
    new_page: Callable[..., Page], ui_server: UiServer, fake_upstream_server: FakeUpstream
) -> None:
    """Bodies (kept: the UI server runs with GATEWAY_LLM_LOG_BODIES) are shown to an auditor as messages."""
    admin = AdminApi(ui_server)
    tag = unique_tag()
    model = f"claude-sonnet-4-5-{tag}"
    provider_id = admin.create_provider(f"anthropic-{tag}", "anthropic", fake_upstream_server.anthropic_base_url)
    admin.call("POST", "/api/models", json={"provider_id": provider_id, "name": model, **CLAUDE_PRICE})
    developer = admin.create_user(f"dev-{tag}@example.com", "developer-password-1", name="Dev")
    auditor = admin.create_user(f"auditor-{tag}@example.com", "auditor-password-1", role="auditor")
    admin.grant(f"calls {tag}", f"user:{developer.email}", [model])
    key = login_token(ui_server.url, developer.email, developer.password, scope="llm")
    fake_upstream_server.configure(reply_text=REPLY, usage=FakeUsage(input_tokens=1840, output_tokens=64))
    try:
        for turn in range(3):
            response = httpx.post(
                f"{ui_server.url}/api/llm-proxy/anthropic/v1/messages",
                headers={**CLAUDE_CODE_HEADERS, "x-api-key": key},
                json={"model": model, **CLAUDE_CODE_BODY, "stream": turn == 0},
                timeout=30,
            )
            assert response.status_code == 200, response.text
    finally:
        fake_upstream_server.reset()
    _refused_call(ui_server.url, CLAUDE_CODE_HEADERS["x-claude-code-session-id"], "gwk_" + "R" * 43)
    admin.close()

    page = new_page(SCREENSHOT_VIEWPORT)
    open_signed_in(page, ROUTE, auditor.email, auditor.password)
    page.goto(f"{ROUTE}?user={developer.id}")
    rows = page.get_by_test_id("call-row")
    expect(rows).to_have_count(3, timeout=30_000)
    expect(page.get_by_test_id("chip-user")).to_contain_text(developer.email)

    rows.first.click()

    request = page.get_by_test_id("call-request")
    expect(request).to_be_visible(timeout=30_000)
    messages = request.get_by_test_id("call-message")
    expect(messages.first).to_contain_text("You are Claude Code")
    expect(request).to_contain_text("Why does test_refused_rows fail on PostgreSQL?")
    expect(request).to_contain_text("pytest -q tests/proxy/test_refused_rows.py")
    expect(page.get_by_test_id("call-response")).to_contain_text("percent-encoded NUL")
    headers = page.get_by_test_id("request-headers")
    expect(headers).to_contain_text("claude-cli/2.1.197")
    assert key not in page.content()  # the key's header is stored redacted
    # On the right, the table beside it (once it has slid in).
    assert _right_gap(page, page.get_by_test_id("call-drawer")) < 2
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        # The drawer scrolled to the messages: what an auditor opens it for.
        request.evaluate("element => element.scrollIntoView({block: 'start'})")
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))
