"""The UI server (`make serve`, Reflex) against hostile pages (issue 15): CORS off unless GATEWAY_CORS_ORIGINS lists
origins, on the pages, the REST API, the proxy and the UI's websocket alike; a CSP, no framing and nosniff on its
responses, with every page still working in Chromium; stored names rendered as text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine
from sqlmodel import Session

from gateway_api.db.config_version import bump_config_version
from gateway_api.db.models import Model
from gateway_ui import routes
from tests.support.fakes.upstream import FakeUpstream
from tests.ui.conftest import UiServer, serve_ui
from tests.ui.seed import AdminApi, login_token, open_signed_in, unique_tag

EVIL = "https://evil.example.net"
TOOLS = "https://tools.example.com"
PATHS = ["/api/me", "/api/auth/login", "/api/llm-proxy/anthropic/v1/messages", "/login/", "/"]
SOCKET = "/_event/?EIO=4&transport=websocket"


def preflight(url: str, origin: str) -> httpx.Response:
    return httpx.options(
        url,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
        timeout=30,
    )


def socket_refused(url: str, origin: str) -> bool:
    """engine.io checks the Origin before anything else and says so."""
    answer = httpx.get(url + SOCKET, headers={"Origin": origin}, timeout=30)
    return answer.status_code == 400 and "not an accepted origin" in answer.text


@pytest.fixture(scope="module")
def tools_allowed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    yield from serve_ui(tmp_path_factory.mktemp("ui-cors"), GATEWAY_CORS_ORIGINS=TOOLS)


def test_no_page_elsewhere_may_drive_the_ui_server(ui_server: UiServer) -> None:
    for path in PATHS:
        answer = preflight(ui_server.url + path, EVIL)
        assert "access-control-allow-origin" not in answer.headers, path
    token = login_token(ui_server.url, ui_server.admin_email, ui_server.admin_password)
    me = httpx.get(f"{ui_server.url}/api/me", headers={"Authorization": f"Bearer {token}", "Origin": EVIL}, timeout=30)
    assert me.status_code == 200
    # Reflex's CORS layer always adds allow-credentials; without an allowed origin a browser ignores it.
    assert "access-control-allow-origin" not in me.headers
    page = httpx.get(f"{ui_server.url}/login/", headers={"Origin": EVIL}, timeout=30)
    assert "access-control-allow-origin" not in page.headers
    assert socket_refused(ui_server.url, EVIL)
    assert not socket_refused(ui_server.url, ui_server.url), "the UI's own pages keep their websocket"


def test_listed_origins_only_and_never_a_wildcard(tools_allowed: UiServer) -> None:
    for path in PATHS:
        allowed = preflight(tools_allowed.url + path, TOOLS)
        assert allowed.headers.get("access-control-allow-origin") == TOOLS, path  # exactly it, never "*"
        assert "access-control-allow-origin" not in preflight(tools_allowed.url + path, EVIL).headers
    assert not socket_refused(tools_allowed.url, TOOLS)
    assert socket_refused(tools_allowed.url, EVIL)
    assert not socket_refused(tools_allowed.url, tools_allowed.url)
    assert Path(tools_allowed.log_path).exists()


def test_pages_carry_a_csp_and_work_under_it_in_chromium(page: Page, ui_server: UiServer) -> None:
    """CSP, no framing, nosniff, referrer policy on the UI's responses; Chromium reports no violation while every
    page loads, signs in, talks over its websocket and renders."""
    complaints: list[str] = []
    page.on("console", lambda m: complaints.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda error: complaints.append(str(error)))
    first = page.goto("/login/")
    assert first is not None
    headers = first.headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    asset = httpx.get(ui_server.url + "/favicon.ico", timeout=30)
    assert asset.headers.get("x-content-type-options") == "nosniff"

    open_signed_in(page, routes.HOME, ui_server.admin_email, ui_server.admin_password)
    for route in (routes.MODELS, routes.USAGE, routes.PROVIDERS, routes.POLICIES, routes.USERS, routes.KEYS):
        page.goto(route)
        expect(page.get_by_test_id("sidebar")).to_be_visible()
        expect(page.locator("h1, h2").first).to_be_visible()
    # What the server has the page run (a toast, the clipboard) works under the policy too.
    page.get_by_role("button", name="Create key").click()
    dialog = page.get_by_test_id("create-key-dialog")
    dialog.get_by_label("Name").fill(f"csp {unique_tag()}")
    dialog.get_by_role("button", name="Create key").click()
    dialog.get_by_test_id("copy-new-key").click()
    expect(page.get_by_text("Copied to the clipboard")).to_be_visible()
    assert complaints == []


def test_any_stored_name_renders_as_text(page: Page, ui_server: UiServer, fake_upstream_server: FakeUpstream) -> None:
    """A model name with a quote (allowed by the name rule) and one written behind the API's back with markup and
    template syntax both show as plain text on the Models page, which keeps working."""
    tag = unique_tag()
    api = AdminApi(ui_server)
    provider_id = api.create_provider(f"Quotes {tag}", "anthropic", fake_upstream_server.anthropic_base_url)
    quoted = f"claude-o'brien-{tag}"
    api.create_models(provider_id, [quoted])
    user = api.create_user(f"names-{tag}@example.com", "names-user-password-1", name="Zoë O'Brien")
    hostile = f"""claude-x{tag}'"<b>bold</b>${{1}}{{{{2}}}}`"""
    engine = create_engine(ui_server.database_url)
    with Session(engine) as session:
        session.add(Model(provider_id=provider_id, name=hostile, display_name=hostile, active=True))
        bump_config_version(session)
        session.commit()
    engine.dispose()
    # A policy cannot name it (no model name the rule allows looks like it), but a prefix reaches it.
    api.grant(f"names {tag}", f"user:{user.email}", [quoted, f"claude-x{tag}'*"])
    api.close()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    open_signed_in(page, routes.MODELS, user.email, user.password)

    card = page.get_by_test_id("provider-anthropic")
    names = card.get_by_test_id("model-name")
    expect(names.filter(has_text=quoted)).to_have_count(1)
    expect(names.filter(has_text=hostile)).to_have_count(1)
    assert page.locator("b", has_text="bold").count() == 0, "markup in a name is not markup"
    assert errors == []
