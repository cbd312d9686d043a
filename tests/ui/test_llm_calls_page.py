"""LLM Calls page: refused calls made through the running gateway are listed, filters live in the URL, and a call
opens in the drawer with its status, reason and client."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.ui.conftest import UiServer
from tests.ui.seed import open_signed_in, unique_tag

ROUTE = "/llm-gateway/calls"


def _refused_call(url: str, session: str, key: str) -> None:
    response = httpx.post(
        f"{url}/api/llm-proxy/anthropic/v1/messages",
        headers={"x-api-key": key, "x-claude-code-session-id": session, "user-agent": "calls-page-test/1.0"},
        json={"model": "claude-haiku-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]},
        timeout=30,
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
    expect(fields).to_contain_text("POST /api/llm-proxy/anthropic/v1/messages")
