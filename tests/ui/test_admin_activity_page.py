"""Admin Activity page: the admin trail with filters in the URL and paging, for admins and (read-only) auditors."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

from tests.ui.conftest import REPO_ROOT, UiServer
from tests.ui.seed import AdminApi, open_signed_in, unique_tag

ROUTE = "/llm-gateway/admin-activity"
SCREENSHOT = REPO_ROOT / "docs" / "screenshots" / "admin-activity.png"
SCREENSHOT_VIEWPORT = {"width": 1440, "height": 1000}


@pytest.fixture
def admin(ui_server: UiServer) -> Iterator[AdminApi]:
    client = AdminApi(ui_server)
    yield client
    client.close()


def test_filters_in_the_url_and_paging(page: Page, ui_server: UiServer, admin: AdminApi) -> None:
    tag = unique_tag()
    group_ids = [admin.call("POST", "/api/groups", json={"name": f"act-{tag}-{i}"})["id"] for i in range(52)]
    today = datetime.now(UTC).date().isoformat()
    route = f"{ROUTE}?action=group.create&from={today}"
    open_signed_in(page, ROUTE, ui_server.admin_email, ui_server.admin_password)
    page.goto(route)

    rows = page.get_by_test_id("audit-row")
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text(f"act-{tag}-51")  # newest first
    expect(rows.first).to_contain_text(ui_server.admin_email)
    expect(page.get_by_label("Action")).to_have_value("group.create")
    page.get_by_role("button", name="Older").click()
    expect(page.get_by_test_id("audit-page")).to_have_text("Page 2")
    expect(rows.filter(has_text=f"act-{tag}-0")).to_have_count(1)
    page.get_by_role("button", name="Newer").click()
    expect(page.get_by_test_id("audit-page")).to_have_text("Page 1")
    expect(rows.first).to_contain_text(f"act-{tag}-51")

    page.get_by_label("Target").fill(f"group:{group_ids[7]}")
    page.get_by_role("button", name="Apply").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(f"act-{tag}-7")
    expect(page).to_have_url(f"{ui_server.url}{ROUTE}?action=group.create&target=group:{group_ids[7]}&from={today}")

    page.reload()  # the URL keeps the filters
    expect(rows).to_have_count(1)
    expect(page.get_by_label("Target")).to_have_value(f"group:{group_ids[7]}")

    page.get_by_role("button", name="Clear").click()
    expect(page).to_have_url(f"{ui_server.url}{ROUTE}")
    expect(rows).to_have_count(50)

    page.goto(f"{ROUTE}?actor=nobody-{tag}%40example.com")
    expect(page.get_by_test_id("audit-empty")).to_be_visible()


def test_auditors_read_the_admin_pages_without_changing(page: Page, ui_server: UiServer, admin: AdminApi) -> None:
    tag = unique_tag()
    email, password = f"auditor-{tag}@example.com", "auditor-password-123"
    admin.create_user(email, password, role="auditor")
    user = admin.create_user(f"audited-{tag}@example.com", "audited-password-123")
    admin.call("PATCH", f"/api/users/{user.id}", json={"role": "admin"})

    open_signed_in(page, ROUTE, email, password)
    page.goto(f"{ROUTE}?target=user:{user.id}")
    sidebar = page.get_by_test_id("sidebar")
    for label in ("Admin Activity", "Users & Groups", "Model Providers", "Token Usage"):
        expect(sidebar.get_by_role("link", name=label, exact=True)).to_be_visible()
    rows = page.get_by_test_id("audit-row")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("user.update")
    expect(rows.first).to_contain_text("role: user → admin")
    expect(page.get_by_test_id("read-only")).to_be_visible()

    page.goto("/llm-gateway/users")
    expect(page.get_by_test_id("read-only")).to_be_visible()
    expect(page.get_by_text(user.email)).to_be_visible()
    expect(page.get_by_role("button", name="Create user")).to_have_count(0)
    expect(page.get_by_role("button", name="Create group")).to_have_count(0)
    page.goto("/llm-gateway/policies")
    expect(page.get_by_test_id("read-only")).to_be_visible()
    expect(page.get_by_role("button", name="New policy")).to_have_count(0)
    page.goto("/llm-gateway/providers")
    expect(page.get_by_test_id("read-only")).to_be_visible()
    expect(page.get_by_role("button", name="Add provider")).to_have_count(0)

    page.set_viewport_size(SCREENSHOT_VIEWPORT)
    page.goto(f"{ROUTE}?action={quote('user.')}")
    expect(rows.first).to_be_visible()
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))
