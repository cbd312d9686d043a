"""The home page: an admin's setup checklist follows the gateway's real state step by step, then today's figures;
a user sees their models, keys and week."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
from playwright.sync_api import Locator, Page, expect

from tests.support.fakes.upstream import FakeUpstream
from tests.ui.conftest import NARROW_VIEWPORT, REPO_ROOT, UiServer
from tests.ui.seed import AdminApi, fits_the_viewport, login_token, open_signed_in, unique_tag

SCREENSHOT = REPO_ROOT / "docs" / "screenshots" / "home.png"
STEPS = ("provider", "models", "policy", "users", "first_call")


def step(page: Page, key: str) -> Locator:
    return page.get_by_test_id(f"setup-step-{key}")


def expect_steps_as_the_api_says(page: Page, admin: AdminApi) -> dict:
    """Reload the home page and check every step against GET /api/setup; returns that answer."""
    status = admin.call("GET", "/api/setup")
    done = {
        "provider": status["providers_with_credential"] > 0,
        "models": status["active_models"] > 0,
        "policy": status["policies_granting"] > 0,
        "users": status["users_with_access"] > 0,
        "first_call": status["first_call_at"] is not None,
    }
    page.reload()
    for key in STEPS:
        expect(step(page, key)).to_have_attribute("data-done", "true" if done[key] else "false")
    expect(page.get_by_test_id("setup-progress")).to_have_text(f"{sum(done.values())} of 5 done")
    return status


def call_anthropic(url: str, key: str, model: str) -> None:
    response = httpx.post(
        f"{url}/api/llm-proxy/anthropic/v1/messages",
        headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
        json={"model": model, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]},
        timeout=30,
    )
    assert response.status_code == 200, response.text


def wait_for_usage(admin: AdminApi, user_id: int, calls: int) -> None:
    deadline = time.monotonic() + 30
    while admin.call("GET", "/api/usage/summary", params={"user_ids": [user_id]})["requests"] < calls:
        assert time.monotonic() < deadline, "the call's usage row never arrived"
        time.sleep(0.2)


def test_the_checklist_ticks_each_step_as_the_gateway_gets_there(
    page: Page, ui_server: UiServer, fake_upstream_server: FakeUpstream
) -> None:
    tag = unique_tag()
    admin = AdminApi(ui_server)
    try:
        open_signed_in(page, "/", ui_server.admin_email, ui_server.admin_password)
        expect(page.get_by_test_id("setup-checklist")).to_be_visible()
        for key, href in zip(STEPS, ("providers", "providers", "policies", "users", "models"), strict=True):
            expect(step(page, key).get_by_role("link")).to_have_attribute("href", f"/llm-gateway/{href}")
        before = expect_steps_as_the_api_says(page, admin)

        provider_id = admin.create_provider(f"home-{tag}", "anthropic", fake_upstream_server.anthropic_base_url)
        status = expect_steps_as_the_api_says(page, admin)
        assert status["providers_with_credential"] == before["providers_with_credential"] + 1
        expect(step(page, "provider")).to_contain_text(f"{status['providers_with_credential']} provider")

        model = f"claude-home-{tag}"
        admin.create_models(provider_id, [model])
        status = expect_steps_as_the_api_says(page, admin)
        assert status["active_models"] == before["active_models"] + 1
        expect(step(page, "models")).to_contain_text(f"{status['active_models']} model")

        admin.call("POST", "/api/groups", json={"name": f"home-{tag}"})
        admin.call(
            "POST", "/api/policies", json={"name": f"home {tag}", "subjects": [f"group:home-{tag}"], "models": [model]}
        )
        status = expect_steps_as_the_api_says(page, admin)
        assert status["policies_granting"] == before["policies_granting"] + 1
        assert status["users_with_access"] == before["users_with_access"], "a group without members gives nobody access"

        user = admin.create_user(f"home-{tag}@example.com", "home-user-password-1")
        admin.call("PATCH", f"/api/users/{user.id}", json={"groups": [f"home-{tag}"]})
        status = expect_steps_as_the_api_says(page, admin)
        assert status["users_with_access"] == before["users_with_access"] + 1

        key = login_token(ui_server.url, user.email, user.password, scope="llm")
        call_anthropic(ui_server.url, key, model)
        wait_for_usage(admin, user.id, 1)
        status = expect_steps_as_the_api_says(page, admin)
        assert status["first_call_at"] is not None
        expect(page.get_by_test_id("setup-progress")).to_have_text("5 of 5 done")

        today = admin.call(
            "GET", "/api/usage/summary", params={"start": datetime.now(UTC).strftime("%Y-%m-%dT00:00:00Z")}
        )
        expect(page.get_by_test_id("home-calls")).to_have_text(f"{today['requests']:,}")
        expect(page.get_by_test_id("home-errors")).to_have_text(f"{today['failed_requests']:,}")
        expect(page.get_by_test_id("home-top-models")).to_contain_text(model)
        assert fits_the_viewport(page)
        if os.environ.get("UPDATE_SCREENSHOTS") == "1":
            page.mouse.move(0, 0)
            page.screenshot(path=SCREENSHOT)
    finally:
        admin.close()


def test_the_checklist_on_a_phone(new_page: Callable[..., Page], ui_server: UiServer) -> None:
    page = new_page(NARROW_VIEWPORT)
    open_signed_in(page, "/", ui_server.admin_email, ui_server.admin_password)

    for key in STEPS:
        link = step(page, key).get_by_role("link")
        expect(link).to_be_visible()
        box = link.bounding_box()
        assert box is not None and box["x"] + box["width"] <= NARROW_VIEWPORT["width"]
    expect(page.get_by_test_id("home-calls")).to_be_visible()
    assert fits_the_viewport(page)


def test_a_user_sees_their_models_keys_and_week(
    new_page: Callable[..., Page], ui_server: UiServer, fake_upstream_server: FakeUpstream
) -> None:
    tag = unique_tag()
    admin = AdminApi(ui_server)
    try:
        provider_id = admin.create_provider(f"home-user-{tag}", "anthropic", fake_upstream_server.anthropic_base_url)
        models = [f"claude-mine-{tag}-a", f"claude-mine-{tag}-b"]
        admin.create_models(provider_id, models)
        user = admin.create_user(f"home-user-{tag}@example.com", "home-user-password-1")
        admin.grant(f"home user {tag}", f"user:{user.email}", models)
        token = login_token(ui_server.url, user.email, user.password)
        created = httpx.post(
            f"{ui_server.url}/api/keys",
            json={"name": f"laptop {tag}"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ).json()
        call_anthropic(ui_server.url, created["secret"], models[0])
        call_anthropic(ui_server.url, created["secret"], models[0])
        wait_for_usage(admin, user.id, 2)
    finally:
        admin.close()

    for viewport in ({"width": 1440, "height": 900}, NARROW_VIEWPORT):
        page = new_page(viewport)
        open_signed_in(page, "/", user.email, user.password)
        mine = page.get_by_test_id("home-my-models")
        expect(mine).to_contain_text("Anthropic · 2 models")
        expect(mine).to_contain_text(", ".join(models))
        expect(mine.get_by_role("link", name="How to call them")).to_have_attribute("href", "/llm-gateway/models")
        keys = page.get_by_test_id("home-my-keys")
        expect(keys).to_contain_text(f"laptop {tag}")
        expect(keys).not_to_contain_text("browser session")
        expect(page.get_by_test_id("home-calls")).to_have_text("2")
        expect(page.get_by_test_id("home-top-models")).to_contain_text(models[0])
        expect(page.get_by_test_id("setup-checklist")).to_have_count(0)
        expect(page.get_by_test_id("home-spend")).to_have_text(re.compile(r"^\$"))
        assert fits_the_viewport(page)
