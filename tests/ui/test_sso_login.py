"""Single sign-on through the real UI (`make serve`), a real identity provider process and Chromium: the first
sign-in creates the user with their groups, a policy on a synced group shows on the Models page, a changed claim
changes access at the next sign-in, an admin group makes an admin, and refused sign-ins get a clear page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from gateway_ui.client_setup import cli_install_command
from gateway_ui.state.auth import TOKEN_STORAGE_KEY
from tests.support.fakes.upstream import FakeUpstream
from tests.support.oidc import ADMIN_GROUP, SSO_CLIENT_ID, IdentityProvider
from tests.ui.conftest import WIDE_VIEWPORT, UiServer, serve_ui
from tests.ui.seed import AdminApi, unique_tag
from tests.ui.test_login import ALL_NAV_LABELS, stored_token

MODELS = "/llm-gateway/models"


@pytest.fixture
def page(browser: Browser, sso_ui_server: UiServer) -> Iterator[Page]:
    """A fresh browser profile on the SSO-enabled server."""
    context = browser.new_context(base_url=sso_ui_server.url, viewport=WIDE_VIEWPORT)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="module")
def sso_ui_server(tmp_path_factory: pytest.TempPathFactory, identity_provider: IdentityProvider) -> Iterator[UiServer]:
    yield from serve_ui(
        tmp_path_factory.mktemp("sso-ui-server"),
        with_public_url=True,
        GATEWAY_OIDC_ISSUER=identity_provider.url,
        GATEWAY_OIDC_CLIENT_ID=SSO_CLIENT_ID,
        GATEWAY_OIDC_CLIENT_SECRET="ui-sso-client-secret",
        GATEWAY_OIDC_ADMIN_GROUPS=ADMIN_GROUP,
        GATEWAY_OIDC_ALLOWED_DOMAINS="example.com",
    )


@pytest.fixture(scope="module")
def granted_models(sso_ui_server: UiServer, fake_upstream_server: FakeUpstream) -> Iterator[tuple[str, str]]:
    """A provider with a model granted to the SSO-managed group `researchers-<tag>` (no member yet)."""
    tag = unique_tag()
    api = AdminApi(sso_ui_server)
    try:
        provider_id = api.create_provider(f"Anthropic {tag}", "anthropic", fake_upstream_server.anthropic_base_url)
        model = f"claude-sso-{tag}"
        api.create_models(provider_id, [model])
        # Set up before anyone signs in: a group single sign-on manages, and a policy on it.
        api.call("POST", "/api/groups", json={"name": f"researchers-{tag}", "synced_from_sso": True})
        api.grant(f"sso group {tag}", f"group:researchers-{tag}", [model])
        yield f"researchers-{tag}", model
    finally:
        api.close()


def sso_sign_in(page: Page, idp: IdentityProvider, sub: str, route: str = MODELS) -> None:
    page.goto(route)
    link = page.get_by_role("link", name="Sign in with SSO")
    # The page's load sets where the sign-on returns to; a link from an earlier visit may show until it has run.
    expect(link).to_have_attribute(
        "href", re.compile(re.escape(f"next={quote(route.rstrip('/'), safe='')}") + "(%2F)?$")
    )
    link.click()
    page.get_by_placeholder("sub").fill(sub)
    page.get_by_role("button", name="Authorize").click()


def sign_out(page: Page) -> None:
    page.get_by_test_id("sidebar").get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login/?$"))


def test_first_sign_in_creates_the_user_and_a_synced_group_policy_grants_models(
    page: Page, sso_ui_server: UiServer, identity_provider: IdentityProvider, granted_models: tuple[str, str]
) -> None:
    group, model = granted_models
    identity_provider.set_user("ui-rita", email="ui-rita@example.com", name="Rita", groups=[group])

    sso_sign_in(page, identity_provider, "ui-rita")

    expect(page).to_have_url(re.compile(re.escape(f"{sso_ui_server.url}{MODELS}") + r"/?$"))
    expect(page.get_by_test_id("sidebar")).to_contain_text("ui-rita@example.com")
    expect(page.get_by_test_id("model-name")).to_have_text([model])
    expect(page.get_by_test_id("cli-install-text")).to_have_text(cli_install_command(sso_ui_server.url))
    token = stored_token(page)
    assert token and token.startswith("gwk_")
    # The session survives a reload exactly as a password session does, and no URL ever carried the key.
    page.reload()
    expect(page.get_by_test_id("model-name")).to_have_text([model])
    assert token not in page.url and "#" not in page.url
    assert token not in sso_ui_server.log_path.read_text(errors="replace")

    # The claim no longer lists the group: the next sign-in takes the access away.
    sign_out(page)
    identity_provider.set_user("ui-rita", email="ui-rita@example.com", name="Rita", groups=["other-team"])
    sso_sign_in(page, identity_provider, "ui-rita")
    expect(page.get_by_test_id("no-models")).to_be_visible()


def test_an_admin_group_makes_an_admin(
    page: Page, sso_ui_server: UiServer, identity_provider: IdentityProvider
) -> None:
    identity_provider.set_user("ui-sam", email="ui-sam@example.com", groups=[ADMIN_GROUP])
    sso_sign_in(page, identity_provider, "ui-sam", route="/")
    expect(page).to_have_url(f"{sso_ui_server.url}/")
    sidebar = page.get_by_test_id("sidebar")
    for label in ALL_NAV_LABELS:
        expect(sidebar.get_by_role("link", name=label, exact=True)).to_be_visible()


def test_a_disallowed_domain_gets_a_clear_error_page(
    page: Page, sso_ui_server: UiServer, identity_provider: IdentityProvider
) -> None:
    identity_provider.set_user("ui-mallory", email="mallory@elsewhere.example", groups=[ADMIN_GROUP])
    sso_sign_in(page, identity_provider, "ui-mallory")
    expect(page.get_by_test_id("sso-error")).to_have_text(
        "accounts of elsewhere.example may not sign in to this gateway"
    )
    page.get_by_role("link", name="Start again").click()
    expect(page.get_by_role("link", name="Sign in with SSO")).to_be_visible()
    assert not stored_token(page)


def test_a_bad_state_and_a_replayed_code_are_refused(
    page: Page, sso_ui_server: UiServer, identity_provider: IdentityProvider
) -> None:
    identity_provider.set_user("ui-tom", email="ui-tom@example.com")
    callbacks: list[str] = []
    page.on("request", lambda request: callbacks.append(request.url) if "/oidc/callback" in request.url else None)
    sso_sign_in(page, identity_provider, "ui-tom")
    expect(page.get_by_test_id("sidebar")).to_contain_text("ui-tom@example.com")
    callback = callbacks[0]

    page.goto(callback)  # the same answer from the provider, again
    expect(page.get_by_test_id("sso-error")).to_contain_text("already used")

    query = parse_qs(urlsplit(callback).query)
    page.goto(f"{sso_ui_server.url}/api/auth/oidc/callback?code={query['code'][0]}&state=not-the-state")
    expect(page.get_by_test_id("sso-error")).to_contain_text("unknown or was already finished")


def test_a_used_one_time_code_in_the_fragment_does_not_sign_in(
    page: Page, sso_ui_server: UiServer, identity_provider: IdentityProvider
) -> None:
    page.goto("/login#sso=not-a-real-code-0123456789")
    expect(page.get_by_test_id("login-error")).to_contain_text("unknown or was already used")
    assert not stored_token(page)
    assert page.evaluate("window.location.hash") == ""
    assert page.evaluate("key => window.localStorage.getItem(key)", TOKEN_STORAGE_KEY) in (None, "")
