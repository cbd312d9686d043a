"""The API Keys page: create (secret shown once), list without secrets, revoke with confirmation, admin view."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from gateway_ui.state.keys import PAGE_SIZE
from tests.ui.conftest import NARROW_VIEWPORT, REPO_ROOT, UiServer
from tests.ui.seed import (
    Account,
    AdminApi,
    clipboard_text,
    fits_the_viewport,
    from_own_address,
    login_token,
    open_signed_in,
    unique_tag,
)

ROUTE = "/llm-gateway/keys"
SCREENSHOT = REPO_ROOT / "docs" / "screenshots" / "keys.png"
PROXY_CALLS_ADDRESS = "127.0.0.2"  # a revoked key counts as a failed guess: see from_own_address
KEY_PREFIX_LENGTH = 12  # "gwk_" and 8 more characters
SECRET_PATTERN = re.compile(r"^gwk_[A-Za-z0-9_-]{40,}$")


@pytest.fixture(scope="module")
def key_owner(ui_server: UiServer) -> Iterator[Account]:
    api = AdminApi(ui_server)
    try:
        yield api.create_user(f"keys-{unique_tag()}@example.com", "keys-user-password-1", name="Key Owner")
    finally:
        api.close()


@pytest.fixture
def owner_page(page: Page, key_owner: Account) -> Page:
    open_signed_in(page, ROUTE, key_owner.email, key_owner.password)
    expect(page.get_by_test_id("sessions-table")).to_be_visible()  # at least this browser's session
    return page


def proxy_status(ui_server: UiServer, secret: str) -> int:
    """What the LLM proxy says to the key (200: accepted, 401: not a working key)."""
    with from_own_address(PROXY_CALLS_ADDRESS) as client:
        return client.get(
            f"{ui_server.url}/api/llm-proxy/anthropic/v1/models", headers={"x-api-key": secret}
        ).status_code


def create_key(page: Page, name: str, expiry_label: str) -> str:
    """Fill and submit the create dialog; returns the secret it shows (the dialog stays open on it)."""
    page.get_by_role("button", name="Create key").click()
    dialog = page.get_by_test_id("create-key-dialog")
    dialog.get_by_label("Name").fill(name)
    dialog.get_by_role("radio", name=expiry_label).click()
    dialog.get_by_role("button", name="Create key").click()
    secret = dialog.get_by_test_id("new-key-secret")
    expect(secret).to_have_text(SECRET_PATTERN)
    return secret.inner_text()


def key_row(page: Page, secret: str) -> Locator:
    return page.get_by_test_id(f"key-row-{secret[:KEY_PREFIX_LENGTH]}")


def key_card(page: Page, secret: str) -> Locator:
    """The same key on a phone, where keys are cards rather than table rows."""
    return page.get_by_test_id(f"key-card-{secret[:KEY_PREFIX_LENGTH]}")


def test_create_shows_the_secret_once_and_the_list_never(owner_page: Page, ui_server: UiServer) -> None:
    name = f"laptop {unique_tag()}"
    secret = create_key(owner_page, name, "7 days")

    dialog = owner_page.get_by_test_id("create-key-dialog")
    expect(dialog.get_by_test_id("secret-warning")).to_contain_text("will not be shown again")
    dialog.get_by_test_id("copy-new-key").click()
    assert clipboard_text(owner_page) == secret
    assert proxy_status(ui_server, secret) == 200

    dialog.get_by_role("button", name="Done").click()

    expect(dialog).to_have_count(0)
    row = key_row(owner_page, secret)
    expect(row).to_contain_text(name)
    expect(row.get_by_test_id("key-prefix")).to_have_text(f"{secret[:KEY_PREFIX_LENGTH]}…")
    expect(row.get_by_test_id("key-status")).to_have_text("active")
    expect(row.get_by_test_id("key-last-used")).to_have_text("Never")
    in_a_week = (datetime.now(UTC) + timedelta(days=7)).strftime("%Y-%m-%d")
    expect(row).to_contain_text(in_a_week)
    assert secret not in owner_page.content()

    owner_page.reload()
    expect(key_row(owner_page, secret)).to_be_visible()
    assert secret not in owner_page.content()


def test_only_admins_create_a_key_without_expiry(
    owner_page: Page, new_page: Callable[..., Page], ui_server: UiServer
) -> None:
    owner_page.get_by_role("button", name="Create key").click()
    dialog = owner_page.get_by_test_id("create-key-dialog")
    expect(dialog.get_by_role("radio", name="90 days")).to_be_visible()
    expect(dialog.get_by_role("radio", name="No expiry")).to_have_count(0)

    admin_page = new_page()
    open_signed_in(admin_page, ROUTE, ui_server.admin_email, ui_server.admin_password)
    secret = create_key(admin_page, f"ci {unique_tag()}", "No expiry")
    admin_page.get_by_role("button", name="Done").click()

    row = key_row(admin_page, secret)
    expect(row.get_by_test_id("key-status")).to_have_text("active")
    expect(row.get_by_test_id("key-expires")).to_have_text("Never")


def test_validation_error_is_shown_next_to_the_name_and_cleared_when_it_is_edited(owner_page: Page) -> None:
    owner_page.get_by_role("button", name="Create key").click()
    dialog = owner_page.get_by_test_id("create-key-dialog")
    dialog.get_by_label("Name").fill("x" * 201)

    dialog.get_by_role("button", name="Create key").click()

    expect(dialog.get_by_test_id("key-name-error")).to_have_text("Use at most 200 characters.")
    expect(dialog.get_by_test_id("new-key-secret")).to_have_count(0)
    expect(owner_page.locator("[data-sonner-toast]")).to_have_count(0), "a field's message is not also a toast"
    dialog.get_by_label("Name").fill("x" * 200)
    expect(dialog.get_by_test_id("key-name-error")).to_have_count(0)


def test_revoke_asks_first_then_the_key_stops_working(owner_page: Page, ui_server: UiServer) -> None:
    secret = create_key(owner_page, f"to revoke {unique_tag()}", "30 days")
    owner_page.get_by_role("button", name="Done").click()
    row = key_row(owner_page, secret)

    row.get_by_role("button", name="Revoke").click()
    confirm = owner_page.get_by_test_id("revoke-key-dialog")
    expect(confirm).to_contain_text("stops working at once")
    confirm.get_by_role("button", name="Cancel").click()
    expect(confirm).to_have_count(0)
    assert proxy_status(ui_server, secret) == 200

    row.get_by_role("button", name="Revoke").click()
    owner_page.get_by_test_id("revoke-key-dialog").get_by_role("button", name="Revoke key").click()

    expect(row).to_have_count(0)  # revoked keys are hidden by default
    assert proxy_status(ui_server, secret) == 401
    owner_page.get_by_text("Show revoked and expired").click()
    expect(row.get_by_test_id("key-status")).to_have_text("revoked")
    expect(row.get_by_role("button", name="Revoke")).to_have_count(0)


def test_users_cannot_see_other_users_keys_admins_can(
    owner_page: Page, new_page: Callable[..., Page], ui_server: UiServer, key_owner: Account
) -> None:
    expect(owner_page.get_by_text("All users' keys")).to_have_count(0)
    secret = create_key(owner_page, f"owned {unique_tag()}", "90 days")
    owner_page.get_by_role("button", name="Done").click()

    admin_page = new_page()
    open_signed_in(admin_page, ROUTE, ui_server.admin_email, ui_server.admin_password)
    expect(admin_page.get_by_test_id("sessions-table")).to_be_visible()
    expect(key_row(admin_page, secret)).to_have_count(0)  # the admin's own keys first

    admin_page.get_by_text("All users' keys").click()

    row = key_row(admin_page, secret)
    expect(row.get_by_test_id("key-owner")).to_have_text(key_owner.email)
    expect(admin_page.get_by_test_id("keys-table").get_by_role("columnheader", name="Owner")).to_be_visible()


def test_sessions_are_listed_apart_show_their_last_use_and_the_others_can_be_signed_out(
    new_page: Callable[..., Page], ui_server: UiServer
) -> None:
    admin = AdminApi(ui_server)
    try:
        user = admin.create_user(f"sessions-{unique_tag()}@example.com", "sessions-password-1")
    finally:
        admin.close()
    others = [login_token(ui_server.url, user.email, user.password) for _ in range(2)]
    llm_key = login_token(ui_server.url, user.email, user.password, scope="llm")
    page = new_page()
    open_signed_in(page, ROUTE, user.email, user.password)

    sessions = page.get_by_test_id("sessions-table")
    expect(sessions.locator("[data-testid^='key-row-']")).to_have_count(3)
    this_browser = sessions.locator("[data-testid^='key-row-']").first
    expect(this_browser).to_contain_text("this browser")
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    expect(this_browser.get_by_test_id("key-last-used")).to_contain_text(today), "the session in use was used now"
    keys = page.get_by_test_id("keys-table")
    expect(keys.locator("[data-testid^='key-row-']")).to_have_count(1), "the llm key is a key, not a session"
    expect(key_row(page, llm_key)).to_contain_text("gateway login")
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        page.mouse.move(0, 0)
        page.screenshot(path=SCREENSHOT)

    page.get_by_test_id("sign-out-others").click()

    expect(sessions.locator("[data-testid^='key-row-']")).to_have_count(1)
    expect(page.get_by_test_id("sign-out-others")).to_be_disabled()
    for token in others:
        me = httpx.get(f"{ui_server.url}/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert me.status_code == 401
    assert proxy_status(ui_server, llm_key) == 200, "signing out sessions leaves keys alone"
    page.reload()
    expect(page.get_by_test_id("sessions-table")).to_contain_text("this browser")


def test_keys_come_a_page_at_a_time_and_every_button_is_on_screen_at_1440(
    new_page: Callable[..., Page], ui_server: UiServer
) -> None:
    admin = AdminApi(ui_server)
    try:
        user = admin.create_user(f"many-keys-{unique_tag()}@example.com", "many-keys-password-1")
    finally:
        admin.close()
    token = login_token(ui_server.url, user.email, user.password)
    for index in range(PAGE_SIZE + 3):
        response = httpx.post(
            f"{ui_server.url}/api/keys",
            json={"name": f"a rather long descriptive name for key number {index:02d} of a CI pipeline"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert response.status_code == 201, response.text
    page = new_page()
    open_signed_in(page, ROUTE, user.email, user.password)

    rows = page.get_by_test_id("keys-table").locator("[data-testid^='key-row-']")
    expect(rows).to_have_count(PAGE_SIZE)
    expect(page.get_by_test_id("keys-page")).to_have_text("Page 1 of 2")
    width = page.viewport_size["width"] if page.viewport_size else 0
    for button in page.get_by_test_id("keys-table").get_by_role("button", name="Revoke").all():
        box = button.bounding_box()
        assert box is not None and box["x"] + box["width"] <= width, "a Revoke button is off screen"
    assert fits_the_viewport(page)

    page.get_by_test_id("keys-pager").get_by_role("button", name="Next").click()

    expect(rows).to_have_count(3)
    expect(page.get_by_test_id("keys-page")).to_have_text("Page 2 of 2")


def test_narrow_layout(new_page: Callable[..., Page], key_owner: Account) -> None:
    page = new_page(NARROW_VIEWPORT)
    open_signed_in(page, ROUTE, key_owner.email, key_owner.password)
    expect(page.get_by_test_id("sessions-cards")).to_be_visible()
    expect(page.get_by_test_id("sessions-table")).to_be_hidden()

    secret = create_key(page, f"phone {unique_tag()}", "7 days")
    page.get_by_role("button", name="Done").click()

    card = key_card(page, secret)
    expect(card).to_be_visible()
    box = card.get_by_role("button", name="Revoke").bounding_box()
    assert box is not None and box["x"] + box["width"] <= NARROW_VIEWPORT["width"]
    assert fits_the_viewport(page)


def test_a_key_for_automation_opens_the_rest_api_and_not_the_models(owner_page: Page, ui_server: UiServer) -> None:
    """Issue 15: scope api for scripts on the REST API; the default llm key for tools that call models."""
    owner_page.get_by_role("button", name="Create key").click()
    dialog = owner_page.get_by_test_id("create-key-dialog")
    dialog.get_by_label("Name").fill(f"automation {unique_tag()}")
    dialog.get_by_role("radio", name="Automate the REST API (api)").click()
    dialog.get_by_role("button", name="Create key").click()
    shown = dialog.get_by_test_id("new-key-secret")
    expect(shown).to_have_text(SECRET_PATTERN)
    secret = shown.inner_text()

    me = httpx.get(f"{ui_server.url}/api/me", headers={"Authorization": f"Bearer {secret}"}, timeout=30)
    assert me.status_code == 200
    assert proxy_status(ui_server, secret) == 403
