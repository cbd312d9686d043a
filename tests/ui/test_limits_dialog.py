"""Usage-limit overrides in the UI: admins set a user's and a key's limits; a key's owner sees its limits read-only."""

from __future__ import annotations

import os
from collections.abc import Callable

import httpx
from playwright.sync_api import Locator, Page, expect

from tests.ui.conftest import REPO_ROOT, UiServer
from tests.ui.seed import Account, AdminApi, login_token, open_signed_in, unique_tag

USERS_ROUTE = "/llm-gateway/users"
KEYS_ROUTE = "/llm-gateway/keys"
SCREENSHOT = REPO_ROOT / "docs" / "screenshots" / "limits-dialog.png"


def seed_user(ui_server: UiServer) -> Account:
    api = AdminApi(ui_server)
    try:
        tag = unique_tag()
        return api.create_user(f"limited-{tag}@example.com", "limited-password-123", name=f"Limited {tag}")
    finally:
        api.close()


def api_get(ui_server: UiServer, path: str) -> dict:
    api = AdminApi(ui_server)
    try:
        return api.call("GET", path)
    finally:
        api.close()


def api_put(ui_server: UiServer, path: str, body: dict) -> None:
    api = AdminApi(ui_server)
    try:
        api.call("PUT", path, json=body)
    finally:
        api.close()


def open_user_limits(page: Page, ui_server: UiServer, email: str) -> Locator:
    page.goto(USERS_ROUTE)
    page.get_by_test_id(f"user-row-{email}").get_by_role("button", name="Limits", exact=True).click()
    dialog = page.get_by_test_id("limits-dialog")
    expect(dialog.get_by_label("Requests per minute")).to_be_visible()
    return dialog


def test_admin_sets_and_clears_a_users_limits(page: Page, ui_server: UiServer) -> None:
    user = seed_user(ui_server)
    open_signed_in(page, USERS_ROUTE, ui_server.admin_email, ui_server.admin_password)
    dialog = open_user_limits(page, ui_server, user.email)
    expect(dialog).to_contain_text(user.email)
    expect(dialog.get_by_label("Requests per minute")).to_have_value("")  # inherits until set

    dialog.get_by_label("Requests per minute").fill("30")
    dialog.get_by_label("Input token quota").fill("50000")
    dialog.get_by_label("Concurrent calls").fill("4")
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOT)
    dialog.get_by_role("button", name="Save limits").click()
    expect(page.get_by_text(f"Limits saved for {user.email}")).to_be_visible()
    expect(dialog).to_have_count(0)

    stored = api_get(ui_server, f"/api/users/{user.id}/limits")
    assert stored["overrides"]["requests_per_minute"] == 30
    assert stored["overrides"]["input_token_quota"] == 50000
    assert stored["overrides"]["output_token_quota"] is None
    assert stored["overrides"]["max_concurrent_calls"] == 4
    effective = {entry["kind"]: entry for entry in stored["effective"]}
    assert (effective["requests_per_minute"]["limit"], effective["requests_per_minute"]["source"]) == (30, "user")

    # Reopened, the dialog shows the saved overrides and where the limit in force comes from.
    dialog = open_user_limits(page, ui_server, user.email)
    expect(dialog.get_by_label("Requests per minute")).to_have_value("30")
    expect(dialog.get_by_test_id("limit-requests_per_minute-hint")).to_have_text(
        "In effect: 30 (this user's own limit)"
    )

    # Bad values: each field's message in words under it, all at once, no toast, and nothing is saved.
    dialog.get_by_label("Requests per minute").fill("-5")
    dialog.get_by_label("Output token quota").fill("lots")
    dialog.get_by_label("Daily budget (USD)").fill("1e400")
    dialog.get_by_role("button", name="Save limits").click()
    expect(dialog.get_by_test_id("limit-requests_per_minute-error")).to_have_text("Must be 0 or more.")
    expect(dialog.get_by_test_id("limit-output_token_quota-error")).to_have_text("Enter a whole number.")
    expect(dialog.get_by_test_id("limit-daily_budget_usd-error")).to_be_visible()
    expect(page.locator("[data-sonner-toast]")).to_have_count(0)
    expect(dialog.get_by_test_id("limit-input_token_quota-error")).to_have_count(0)
    assert api_get(ui_server, f"/api/users/{user.id}/limits")["overrides"]["requests_per_minute"] == 30
    dialog.get_by_label("Output token quota").fill("")
    dialog.get_by_label("Daily budget (USD)").fill("")
    expect(dialog.get_by_test_id("limit-output_token_quota-error")).to_have_count(0)  # cleared as it is fixed
    expect(dialog.get_by_test_id("limit-requests_per_minute-error")).to_be_visible()

    # Clearing a field returns it to inherit; the other override stays.
    dialog.get_by_label("Requests per minute").fill("")
    dialog.get_by_role("button", name="Save limits").click()
    expect(dialog).to_have_count(0)
    stored = api_get(ui_server, f"/api/users/{user.id}/limits")
    assert stored["overrides"]["requests_per_minute"] is None
    assert stored["overrides"]["input_token_quota"] == 50000
    effective = {entry["kind"]: entry for entry in stored["effective"]}
    assert effective["requests_per_minute"]["source"] != "user"


def create_key_as(ui_server: UiServer, account: Account) -> dict:
    token = login_token(ui_server.url, account.email, account.password)
    response = httpx.post(
        f"{ui_server.url}/api/keys",
        json={"name": "limited key", "scope": "llm", "expires_in_days": 7},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code in (200, 201), response.text
    return response.json()


def test_admin_sets_a_keys_limits_and_its_owner_sees_them_read_only(
    page: Page, new_page: Callable[..., Page], ui_server: UiServer
) -> None:
    user = seed_user(ui_server)
    key = create_key_as(ui_server, user)
    api_put(ui_server, f"/api/users/{user.id}/limits", {"daily_budget_usd": 12.5})

    open_signed_in(page, KEYS_ROUTE, ui_server.admin_email, ui_server.admin_password)
    page.get_by_text("All users' keys").click()
    row = page.get_by_test_id(f"key-row-{key['prefix']}")
    row.get_by_role("button", name="Limits", exact=True).click()
    dialog = page.get_by_test_id("limits-dialog")
    expect(dialog.get_by_test_id("limit-daily_budget_usd-hint")).to_have_text(
        "In effect: 12.5 (inherited from the key's owner)"
    )
    dialog.get_by_label("Output token quota").fill("7000")
    dialog.get_by_role("button", name="Save limits").click()
    expect(dialog).to_have_count(0)
    stored = api_get(ui_server, f"/api/keys/{key['id']}/limits")
    assert stored["overrides"]["output_token_quota"] == 7000

    owner_page = new_page()
    open_signed_in(owner_page, KEYS_ROUTE, user.email, user.password)
    owner_page.get_by_test_id(f"key-row-{key['prefix']}").get_by_role("button", name="Limits", exact=True).click()
    dialog = owner_page.get_by_test_id("limits-dialog")
    expect(dialog.get_by_label("Output token quota")).to_have_value("7000")
    expect(dialog.get_by_label("Output token quota")).not_to_be_editable()
    expect(dialog.get_by_test_id("limit-output_token_quota-hint")).to_have_text(
        "In effect: 7000 (this key's own limit)"
    )
    expect(dialog.get_by_role("button", name="Save limits")).to_have_count(0)
