"""Signing in and out through the real UI, served exactly as `make run` serves it."""

from __future__ import annotations

import os
import re

import httpx
from playwright.sync_api import Page, expect

from gateway_ui.state.auth import TOKEN_STORAGE_KEY
from tests.ui.conftest import REPO_ROOT, UiServer

LOGIN_SCREENSHOT = REPO_ROOT / "docs" / "screenshots" / "login.png"
ALL_NAV_LABELS = (
    "Models",
    "Token Usage",
    "LLM Calls",
    "Message Policies",
    "Policy Violations",
    "Model Providers",
    "Model Access Policies",
    "Users & Groups",
    "API Keys",
    "Admin Activity",
)


def sign_in(page: Page, email: str, password: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def stored_token(page: Page) -> str | None:
    return page.evaluate("key => window.localStorage.getItem(key)", TOKEN_STORAGE_KEY)


def test_login_page_renders(page: Page) -> None:
    page.goto("/login")

    expect(page.get_by_role("heading", name="LLM Gateway")).to_be_visible()
    expect(page.get_by_label("Email")).to_be_editable()
    expect(page.get_by_label("Password")).to_have_attribute("type", "password")
    expect(page.get_by_role("button", name="Sign in")).to_be_enabled()
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        LOGIN_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=LOGIN_SCREENSHOT)


def test_wrong_password_shows_the_api_error(page: Page, ui_server: UiServer) -> None:
    api_answer = httpx.post(
        f"{ui_server.url}/api/auth/login",
        json={"email": ui_server.admin_email, "password": "not-the-password"},
        timeout=30,
    )
    assert api_answer.status_code == 401
    page.goto("/login")

    sign_in(page, ui_server.admin_email, "not-the-password")

    expect(page.get_by_test_id("login-error")).to_have_text("Wrong email or password.")
    assert api_answer.json()["detail"] == "wrong email or password"
    expect(page).to_have_url(re.compile(r"/login/?$"))
    assert not stored_token(page)


def test_empty_fields_are_named_beside_them_and_nothing_is_sent(page: Page) -> None:
    page.goto("/login")

    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_test_id("login-email-error")).to_have_text("Enter your email.")
    expect(page.get_by_test_id("login-password-error")).to_have_text("Enter your password.")
    page.get_by_label("Email").fill("someone@example.com")
    expect(page.get_by_test_id("login-email-error")).to_have_count(0)
    expect(page.get_by_test_id("login-password-error")).to_be_visible()
    expect(page.get_by_test_id("login-error")).to_have_count(0)
    assert not stored_token(page)


def test_right_password_lands_in_the_layout_and_survives_a_reload(page: Page, ui_server: UiServer) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/?\?next=%2F$"))

    sign_in(page, ui_server.admin_email, ui_server.admin_password)

    expect(page).to_have_url(f"{ui_server.url}/")
    sidebar = page.get_by_test_id("sidebar")
    for label in ALL_NAV_LABELS:
        expect(sidebar.get_by_role("link", name=label, exact=True)).to_be_visible()
    expect(page.get_by_test_id("signed-in-as")).to_contain_text(ui_server.admin_email)
    assert stored_token(page)

    page.reload()

    expect(page).to_have_url(f"{ui_server.url}/")
    expect(page.get_by_test_id("signed-in-as")).to_contain_text(ui_server.admin_email)


def test_sign_out_revokes_the_session(page: Page, ui_server: UiServer) -> None:
    page.goto("/login")
    sign_in(page, ui_server.admin_email, ui_server.admin_password)
    expect(page.get_by_test_id("sidebar")).to_be_visible()
    token = stored_token(page)

    page.get_by_test_id("sidebar").get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(re.compile(r"/login/?$"))
    assert not stored_token(page)
    me = httpx.get(f"{ui_server.url}/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert me.status_code == 401
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/?\?next=%2F$"))


def test_a_token_the_api_no_longer_accepts_sends_the_browser_to_login(page: Page, ui_server: UiServer) -> None:
    page.goto("/login")
    sign_in(page, ui_server.admin_email, ui_server.admin_password)
    expect(page.get_by_test_id("sidebar")).to_be_visible()
    revoked = httpx.post(
        f"{ui_server.url}/api/auth/logout",
        headers={"Authorization": f"Bearer {stored_token(page)}"},
        timeout=30,
    )
    assert revoked.status_code == 204

    page.reload()

    expect(page).to_have_url(re.compile(r"/login/?\?next=%2F$"))
    expect(page.get_by_test_id("sidebar")).to_have_count(0)
    assert not stored_token(page)
