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
        "LLM Calls": "/llm-gateway/calls",
        "Message Policies": "/llm-gateway/message-policies",
        "Policy Violations": "/llm-gateway/policy-violations",
        "Model Providers": "/llm-gateway/providers",
        "Model Access Policies": "/llm-gateway/policies",
        "Users & Groups": "/llm-gateway/users",
        "API Keys": "/llm-gateway/keys",
        "Admin Activity": "/llm-gateway/admin-activity",
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


def _luminance(css_color: str) -> float:
    """How light a text colour reads on the sidebar's near-white background (a translucent colour mixed into it)."""
    numbers = [float(part) for part in re.findall(r"[\d.]+", css_color)]
    red, green, blue = numbers[:3]
    alpha = numbers[3] if len(numbers) > 3 else 1.0
    red, green, blue = (alpha * value + (1 - alpha) * 255 for value in (red, green, blue))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def test_a_hovered_sidebar_link_reads_darker_not_faded(page: Page, ui_server: UiServer) -> None:
    page.goto("/login")
    sign_in(page, ui_server.admin_email, ui_server.admin_password)
    link = page.get_by_test_id("sidebar").get_by_role("link", name="Token Usage", exact=True)
    expect(link).to_be_visible()
    resting = link.evaluate("el => getComputedStyle(el).color")

    link.hover()

    page.wait_for_timeout(300)  # past any colour transition
    hovered = link.evaluate("el => getComputedStyle(el).color")
    assert _luminance(hovered) <= _luminance(resting), (resting, hovered)
    assert _luminance(hovered) < 80, f"hovered text {hovered} is not dark enough to read as active"


def test_the_favicon_is_served(page: Page, ui_server: UiServer) -> None:
    response = page.request.get(f"{ui_server.url}/favicon.ico")

    assert response.status == 200
    assert response.body()[:4] == b"\x00\x00\x01\x00", "an ICO file"


def test_start_up_prints_nothing_a_user_cannot_act_on(ui_server: UiServer) -> None:
    """`make serve` as the tests start it (a fresh build folder, like a first `make run`)."""
    log = ui_server.log_path.read_text(errors="replace")

    for advice in ("is being redefined", "Node.js", "uv run reflex run", "reflex init"):
        assert advice not in log, f"start-up printed {advice!r}:\n{log[-2000:]}"
    assert "App running at: http://127.0.0.1:" in log
