"""The signed-in layout: which links each role sees, and the drawer on narrow screens."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session

from gateway_api.accounts.users import create_user, find_user
from gateway_api.db.engine import make_engine, session_scope
from gateway_api.db.models import Role
from tests.ui.conftest import NARROW_VIEWPORT, UiServer
from tests.ui.test_login import ALL_NAV_LABELS, sign_in

USER_NAV_LABELS = ("Models", "API Keys")
ADMIN_ONLY_NAV_LABELS = tuple(label for label in ALL_NAV_LABELS if label not in USER_NAV_LABELS)
REGULAR_EMAIL = "ui-user@example.com"
REGULAR_PASSWORD = "ui-user-password-123"


@pytest.fixture(scope="module")
def regular_user(ui_server: UiServer) -> Iterator[tuple[str, str]]:
    """A role=user account, written into the running server's own database."""
    engine = make_engine(ui_server.database_url)
    try:
        with Session(engine) as session:
            exists = find_user(session, REGULAR_EMAIL) is not None
        if not exists:
            with session_scope(engine) as session:
                create_user(session, REGULAR_EMAIL, REGULAR_PASSWORD, role=Role.user)
        yield REGULAR_EMAIL, REGULAR_PASSWORD
    finally:
        engine.dispose()


def test_role_user_sees_no_admin_pages(page: Page, regular_user: tuple[str, str]) -> None:
    page.goto("/login")

    sign_in(page, *regular_user)

    sidebar = page.get_by_test_id("sidebar")
    for label in USER_NAV_LABELS:
        expect(sidebar.get_by_role("link", name=label, exact=True)).to_be_visible()
    for label in ADMIN_ONLY_NAV_LABELS:
        expect(sidebar.get_by_role("link", name=label, exact=True)).to_have_count(0)
    expect(sidebar.get_by_text("user", exact=True)).to_be_visible()


def test_sidebar_links_go_to_the_llm_gateway_routes(page: Page, ui_server: UiServer) -> None:
    page.goto("/login")
    sign_in(page, ui_server.admin_email, ui_server.admin_password)
    sidebar = page.get_by_test_id("sidebar")

    hrefs = {
        label: sidebar.get_by_role("link", name=label, exact=True).get_attribute("href") for label in ALL_NAV_LABELS
    }

    assert hrefs == {
        "Models": "/llm-gateway/models",
        "Token Usage": "/llm-gateway/usage",
        "Model Providers": "/llm-gateway/providers",
        "Model Access Policies": "/llm-gateway/policies",
        "Users & Groups": "/llm-gateway/users",
        "API Keys": "/llm-gateway/keys",
    }


def test_narrow_screen_moves_navigation_into_a_drawer(new_page: Callable[..., Page], ui_server: UiServer) -> None:
    page = new_page(NARROW_VIEWPORT)
    page.goto("/login")
    sign_in(page, ui_server.admin_email, ui_server.admin_password)
    expect(page.get_by_test_id("signed-in-as")).to_be_visible()
    expect(page.get_by_test_id("sidebar")).to_be_hidden()

    page.get_by_role("button", name="Open navigation").click()

    drawer = page.get_by_test_id("nav-drawer")
    for label in ALL_NAV_LABELS:
        expect(drawer.get_by_role("link", name=label, exact=True)).to_be_visible()
    drawer.get_by_role("link", name="API Keys", exact=True).click()
    expect(page).to_have_url(re.compile(r"/llm-gateway/keys/?$"))
    expect(page.get_by_test_id("nav-drawer")).to_have_count(0)
