"""Policy Violations page: violations recorded for a real (refused) call are listed, filtered through the URL,
counted, and open in a drawer that links to the call in LLM Calls; only auditors see the offending content."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import Page, expect

from gateway_api.core.settings import SECRET_KEY_FILE
from gateway_api.db.engine import make_engine
from gateway_api.message_policies.rules import PolicyAction, PolicyScope, Violation
from gateway_api.message_policies.stored.violations import ViolationRecorder, violation_sealer
from tests.ui.conftest import NARROW_VIEWPORT, REPO_ROOT, UiServer
from tests.ui.seed import Account, AdminApi, fits_the_viewport, open_signed_in, unique_tag
from tests.ui.test_message_policies_page import create_message_policy

SCREENSHOT_VIEWPORT = {"width": 1440, "height": 1000}
SCREENSHOT = REPO_ROOT / "docs" / "screenshots" / "policy-violations.png"
ROUTE = "/llm-gateway/policy-violations"
CALLS_ROUTE = "/llm-gateway/calls"
SECRET_TEXT = "deploy with AKIAABCDEFGHIJKLMNOPQ please"


@dataclass(frozen=True)
class World:
    tag: str
    user: Account
    blocking: dict
    monitoring: dict
    call_id: str


@pytest.fixture
def admin(ui_server: UiServer) -> Iterator[AdminApi]:
    client = AdminApi(ui_server)
    yield client
    client.close()


def _refused_call(url: str, tag: str) -> str:
    """A call the proxy refuses (not a gateway key, which the key-guessing throttle does not count, so other
    modules' refused calls are not throttled): its call-log row is the call a violation links to."""
    response = httpx.post(
        f"{url}/api/llm-proxy/anthropic/v1/messages",
        headers={"x-api-key": f"not-a-gateway-key-{tag}", "user-agent": f"violations-test/{tag}"},
        json={"model": "claude-haiku-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]},
        timeout=30,
    )
    assert response.status_code == 401, response.text
    return response.headers["x-gateway-request-id"]


def _record(ui_server: UiServer, user_id: int, call_id: str, violations: list[Violation]) -> None:
    """Write violations as the proxy does: through the store's recorder, sealed with the server's key."""
    secret_key = (ui_server.data_dir / SECRET_KEY_FILE).read_text().strip()
    engine = make_engine(ui_server.database_url)
    try:
        recorder = ViolationRecorder(engine, violation_sealer(secret_key), flush_interval=0.1)
        recorder.record(violations, user_id=user_id, api_key_id=None, call_id=call_id)
        # Playwright's sync API runs an event loop in this thread: the recorder's flush runs on a loop of its own.
        with ThreadPoolExecutor(max_workers=1) as pool:
            assert pool.submit(asyncio.run, recorder.flush()).result()
    finally:
        engine.dispose()


@pytest.fixture
def world(ui_server: UiServer, admin: AdminApi) -> World:
    tag = unique_tag()
    user = admin.create_user(f"violator-{tag}@example.com", "violator-password-1")
    blocking = create_message_policy(admin, f"no-cloud-keys {tag}")
    monitoring = create_message_policy(admin, f"watch-tools {tag}", scope=["tool_results"], action="monitor")
    call_id = _refused_call(ui_server.url, tag)

    def violation(policy: dict, scope: PolicyScope, action: PolicyAction, explanation: str) -> Violation:
        return Violation(policy["id"], policy["name"], scope, action, explanation, SECRET_TEXT)

    _record(
        ui_server,
        user.id,
        call_id,
        [
            violation(blocking, PolicyScope.user_messages, PolicyAction.block, f"An AWS key was sent {tag}"),
            violation(blocking, PolicyScope.user_messages, PolicyAction.block, f"Another AWS key {tag}"),
            violation(monitoring, PolicyScope.tool_results, PolicyAction.monitor, f"A tool printed a key {tag}"),
        ],
    )
    return World(tag=tag, user=user, blocking=blocking, monitoring=monitoring, call_id=call_id)


def test_violations_are_filtered_by_the_url_and_link_to_their_call(
    page: Page, ui_server: UiServer, world: World
) -> None:
    open_signed_in(page, ROUTE, ui_server.admin_email, ui_server.admin_password)
    page.goto(f"{ROUTE}?user={world.user.id}")

    rows = page.get_by_test_id("violation-row")
    expect(rows).to_have_count(3)
    expect(rows.filter(has_text=world.blocking["name"])).to_have_count(2)
    expect(rows.first).to_contain_text(world.user.email)
    expect(page.get_by_test_id("stats-policy")).to_contain_text(world.blocking["name"])

    page.get_by_test_id("filter-scope").select_option("tool_results")
    page.get_by_test_id("apply-filters").click()
    expect(page).to_have_url(
        re.compile(re.escape(ROUTE) + r"/?" + re.escape(f"?user={world.user.id}&scope=tool_results") + "$")
    )
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(world.monitoring["name"])
    expect(rows.first).to_contain_text("monitor")
    expect(page.get_by_test_id("filter-scope")).to_have_value("tool_results")

    page.get_by_test_id("filter-action").select_option("block")
    page.get_by_test_id("apply-filters").click()
    expect(page.get_by_test_id("violations-empty")).to_be_visible()

    page.goto(f"{ROUTE}?policy={world.blocking['id']}")
    expect(rows).to_have_count(2)
    expect(page.get_by_test_id("filter-policy")).to_have_value(str(world.blocking["id"]))
    rows.first.click()
    drawer = page.get_by_test_id("violation-drawer")
    expect(drawer).to_be_visible()
    fields = page.get_by_test_id("violation-fields")
    expect(fields).to_contain_text(world.blocking["name"])
    expect(fields).to_contain_text(world.user.email)
    expect(fields).to_contain_text(world.call_id)
    expect(drawer).to_contain_text("The offending content is shown to auditors only.")
    expect(page.get_by_test_id("violation-content")).to_have_count(0)

    page.get_by_test_id("violation-call-link").click()
    expect(page).to_have_url(re.compile(re.escape(CALLS_ROUTE) + r"/?\?call=" + re.escape(world.call_id) + "$"))
    expect(page.get_by_test_id("call-row")).to_have_count(1, timeout=30_000)  # written within a flush interval
    expect(page.get_by_test_id("call-drawer")).to_be_visible()
    expect(page.get_by_test_id("call-fields")).to_contain_text(f"violations-test/{world.tag}")


def test_auditors_read_the_offending_content(page: Page, ui_server: UiServer, admin: AdminApi, world: World) -> None:
    auditor = admin.create_user(f"violations-auditor-{world.tag}@example.com", "auditor-password-123", role="auditor")
    open_signed_in(page, ROUTE, auditor.email, auditor.password)
    page.goto(f"{ROUTE}?policy={world.monitoring['id']}")

    rows = page.get_by_test_id("violation-row")
    expect(rows).to_have_count(1)
    rows.first.click()
    expect(page.get_by_test_id("violation-content")).to_contain_text(SECRET_TEXT)
    page.get_by_test_id("violation-call-link").click()
    expect(page.get_by_test_id("call-drawer")).to_be_visible()  # auditors open the call too


def test_a_user_gets_the_admin_only_notice(page: Page, world: World) -> None:
    open_signed_in(page, ROUTE, world.user.email, world.user.password)
    expect(page.get_by_test_id("admin-only")).to_be_visible()
    expect(page.get_by_test_id("violation-row")).to_have_count(0)


def test_layout_at_phone_width_and_screenshot(new_page: Callable[..., Page], ui_server: UiServer, world: World) -> None:
    narrow = new_page(NARROW_VIEWPORT)
    open_signed_in(narrow, ROUTE, ui_server.admin_email, ui_server.admin_password)
    expect(narrow.get_by_test_id("violation-row").first).to_be_visible()
    assert fits_the_viewport(narrow)

    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        wide = new_page(SCREENSHOT_VIEWPORT)
        open_signed_in(wide, ROUTE, ui_server.admin_email, ui_server.admin_password)
        expect(wide.get_by_test_id("violation-row").first).to_be_visible()
        wide.mouse.move(0, 0)
        wide.screenshot(path=SCREENSHOT)
