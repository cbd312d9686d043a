"""Users & Groups: admins create, edit and deactivate users and manage groups; users are kept out."""

from __future__ import annotations

import os
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.ui.conftest import NARROW_VIEWPORT, REPO_ROOT, WIDE_VIEWPORT, UiServer
from tests.ui.seed import AdminApi, fits_the_viewport, login_token, open_signed_in, unique_tag
from tests.ui.test_login import ALL_NAV_LABELS

ROUTE = "/llm-gateway/users"
SCREENSHOT = REPO_ROOT / "docs" / "screenshots" / "users.png"
USER_NAV_LABELS = ("Models", "API Keys")


def open_as_admin(page: Page, ui_server: UiServer) -> Page:
    open_signed_in(page, ROUTE, ui_server.admin_email, ui_server.admin_password)
    expect(page.get_by_test_id("users-table")).to_be_visible()
    return page


def api_user(ui_server: UiServer, email: str) -> dict:
    api = AdminApi(ui_server)
    try:
        [user] = [u for u in api.call("GET", "/api/users", params={"q": email})["data"] if u["email"] == email]
        return user
    finally:
        api.close()


def create_group_in_ui(page: Page, name: str) -> Locator:
    page.get_by_label("New group").fill(name)
    page.get_by_role("button", name="Create group").click()
    row = page.get_by_test_id(f"group-row-{name}")
    expect(row).to_be_visible()
    return row


def create_user_in_ui(page: Page, email: str, password: str, *, name: str, role: str, groups: list[str]) -> Locator:
    page.get_by_role("button", name="Create user").click()
    dialog = page.get_by_test_id("user-dialog")
    dialog.get_by_label("Email").fill(email)
    dialog.get_by_label("Name").fill(name)
    dialog.get_by_label("Password").fill(password)
    dialog.get_by_role("radio", name=role).click()
    for group in groups:
        dialog.get_by_role("checkbox", name=group).click()
    dialog.get_by_role("button", name="Create user").click()
    expect(dialog).to_have_count(0)
    row = page.get_by_test_id(f"user-row-{email}")
    expect(row).to_be_visible()
    return row


def test_admin_creates_a_user_with_role_and_groups(page: Page, ui_server: UiServer) -> None:
    tag = unique_tag()
    open_as_admin(page, ui_server)
    create_group_in_ui(page, f"eng-{tag}")
    create_group_in_ui(page, f"ops-{tag}")
    email = f"new-{tag}@example.com"

    row = create_user_in_ui(
        page, email, "new-user-password-1", name="Ada O'Lovelace & Co (R&D)", role="Admin", groups=[f"eng-{tag}"]
    )

    expect(row).to_contain_text("Ada O'Lovelace & Co (R&D)")  # shown as text, never as markup
    expect(row.get_by_test_id("user-role")).to_have_text("admin")
    expect(row.get_by_test_id("user-groups")).to_have_text(f"eng-{tag}")
    expect(row.get_by_test_id("user-status")).to_have_text("active")
    expect(page.get_by_test_id(f"group-row-eng-{tag}").get_by_test_id("group-members")).to_have_text("1")
    stored = api_user(ui_server, email)
    assert (stored["name"], stored["role"], stored["groups"], stored["active"]) == (
        "Ada O'Lovelace & Co (R&D)",
        "admin",
        [f"eng-{tag}"],
        True,
    )
    assert login_token(ui_server.url, email, "new-user-password-1")
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        page.reload()  # without the toasts
        expect(page.get_by_test_id(f"user-row-{email}")).to_be_visible()
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOT)


@pytest.mark.parametrize("viewport", [WIDE_VIEWPORT, NARROW_VIEWPORT], ids=["1440", "390"])
def test_every_invalid_field_says_what_to_do_at_once_and_clears_when_edited(
    new_page: Callable[..., Page], ui_server: UiServer, viewport: dict[str, int]
) -> None:
    page = open_as_admin(new_page(viewport), ui_server)
    page.get_by_role("button", name="Create user").click()
    dialog = page.get_by_test_id("user-dialog")
    dialog.get_by_label("Email").fill("not-an-email")
    dialog.get_by_label("Name").fill("n" * 201)
    dialog.get_by_label("Password").fill("short")

    dialog.get_by_role("button", name="Create user").click()

    expect(dialog.get_by_test_id("user-email-error")).to_have_text("Enter an email address like name@example.com.")
    expect(dialog.get_by_test_id("user-name-error")).to_have_text("Use at most 200 characters.")
    expect(dialog.get_by_test_id("user-password-error")).to_have_text("Use at least 8 characters.")
    expect(page.locator("[data-sonner-toast]")).to_have_count(0)

    dialog.get_by_label("Password").fill("long-enough-password")  # fixed: its message goes, the others stay

    expect(dialog.get_by_test_id("user-password-error")).to_have_count(0)
    expect(dialog.get_by_test_id("user-email-error")).to_be_visible()
    expect(dialog.get_by_test_id("user-name-error")).to_be_visible()

    dialog.get_by_label("Email").fill(ui_server.admin_email)  # taken
    dialog.get_by_label("Name").fill("Someone")
    dialog.get_by_role("button", name="Create user").click()

    expect(dialog.get_by_test_id("user-email-error")).to_contain_text("already exists")
    expect(dialog.get_by_test_id("user-name-error")).to_have_count(0)
    expect(page.locator("[data-sonner-toast]")).to_have_count(0)


def test_admin_edits_role_groups_and_deactivates_after_confirming(page: Page, ui_server: UiServer) -> None:
    tag = unique_tag()
    api = AdminApi(ui_server)
    try:
        api.call("POST", "/api/groups", json={"name": f"team-{tag}"})
        account = api.create_user(f"edit-{tag}@example.com", "edit-user-password-1", name="Edit Me")
    finally:
        api.close()
    open_as_admin(page, ui_server)
    row = page.get_by_test_id(f"user-row-{account.email}")

    row.get_by_role("button", name="Edit").click()
    dialog = page.get_by_test_id("user-dialog")
    expect(dialog.get_by_label("Name")).to_have_value("Edit Me")
    dialog.get_by_role("radio", name="Admin").click()
    dialog.get_by_role("checkbox", name=f"team-{tag}").click()
    dialog.get_by_role("button", name="Save changes").click()

    expect(row.get_by_test_id("user-role")).to_have_text("admin")
    expect(row.get_by_test_id("user-groups")).to_have_text(f"team-{tag}")
    assert api_user(ui_server, account.email)["groups"] == [f"team-{tag}"]

    row.get_by_role("button", name="Deactivate").click()
    confirm = page.get_by_test_id("deactivate-dialog")
    expect(confirm).to_contain_text(account.email)
    confirm.get_by_role("button", name="Cancel").click()
    expect(row.get_by_test_id("user-status")).to_have_text("active")
    row.get_by_role("button", name="Deactivate").click()
    page.get_by_test_id("deactivate-dialog").get_by_role("button", name="Deactivate").click()

    expect(row.get_by_test_id("user-status")).to_have_text("inactive")
    refused = httpx.post(
        f"{ui_server.url}/api/auth/login",
        json={"email": account.email, "password": account.password},
        timeout=30,
    )
    assert refused.status_code == 401

    row.get_by_role("button", name="Reactivate").click()
    expect(row.get_by_test_id("user-status")).to_have_text("active")
    assert api_user(ui_server, account.email)["active"] is True


def test_groups_are_created_and_deleted_after_confirming(page: Page, ui_server: UiServer) -> None:
    tag = unique_tag()
    open_as_admin(page, ui_server)
    row = create_group_in_ui(page, f"temp-{tag}")

    page.get_by_label("New group").fill("bad name!")
    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_test_id("group-name-error")).not_to_have_text("")
    assert "pattern" not in page.get_by_test_id("group-name-error").inner_text(), "no regular expression for people"
    expect(page.locator("[data-sonner-toast]")).to_have_count(0)

    row.get_by_role("button", name="Delete").click()
    page.get_by_test_id("delete-group-dialog").get_by_role("button", name="Delete group").click()

    expect(row).to_have_count(0)
    api = AdminApi(ui_server)
    try:
        names = [g["name"] for g in api.call("GET", "/api/groups")["data"]]
    finally:
        api.close()
    assert f"temp-{tag}" not in names


def test_a_group_a_policy_uses_is_kept_and_the_reason_shown(page: Page, ui_server: UiServer) -> None:
    tag = unique_tag()
    api = AdminApi(ui_server)
    try:
        api.call("POST", "/api/groups", json={"name": f"kept-{tag}"})
        api.grant(f"needs kept-{tag}", f"group:kept-{tag}", ["*"])
    finally:
        api.close()
    open_as_admin(page, ui_server)
    row = page.get_by_test_id(f"group-row-kept-{tag}")

    row.get_by_role("button", name="Delete").click()
    page.get_by_test_id("delete-group-dialog").get_by_role("button", name="Delete group").click()

    expect(page.get_by_text(f"is used by policies: needs kept-{tag}")).to_be_visible()
    expect(row).to_be_visible()


@pytest.mark.parametrize("viewport", [WIDE_VIEWPORT, NARROW_VIEWPORT], ids=["1440", "390"])
def test_a_user_sees_no_admin_pages(
    new_page: Callable[..., Page], ui_server: UiServer, viewport: dict[str, int]
) -> None:
    api = AdminApi(ui_server)
    try:
        account = api.create_user(f"plain-{unique_tag()}@example.com", "plain-user-password-1")
    finally:
        api.close()
    page = new_page(viewport)

    open_signed_in(page, ROUTE, account.email, account.password)

    # The same notice as every other admin page, with the way to the user's own pages.
    notice = page.get_by_test_id("admin-only")
    expect(notice).to_contain_text("Only admins can see this page.")
    expect(notice.get_by_role("link", name="Models")).to_have_attribute("href", "/llm-gateway/models")
    expect(page.get_by_test_id("users-table")).to_have_count(0)
    if viewport == NARROW_VIEWPORT:  # the navigation sits in the drawer
        page.get_by_role("button", name="Open navigation").click()
    navigation = page.get_by_test_id("nav-drawer" if viewport == NARROW_VIEWPORT else "sidebar")
    for label in ALL_NAV_LABELS:
        expected = 1 if label in USER_NAV_LABELS else 0
        expect(navigation.get_by_role("link", name=label, exact=True)).to_have_count(expected)
    token = login_token(ui_server.url, account.email, account.password)
    for path in ("/api/users", "/api/groups"):
        assert (
            httpx.get(f"{ui_server.url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=30).status_code
            == 403
        )


def test_narrow_layout(new_page: Callable[..., Page], ui_server: UiServer) -> None:
    page = new_page(NARROW_VIEWPORT)
    open_as_admin(page, ui_server)
    tag = unique_tag()

    create_user_in_ui(page, f"narrow-{tag}@example.com", "narrow-password-1", name="Narrow", role="User", groups=[])

    assert fits_the_viewport(page)
