"""Model Access Policies page: create a policy for a user through the form (live match counts), edit, delete."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.ui.conftest import NARROW_VIEWPORT, REPO_ROOT, UiServer
from tests.ui.seed import AdminApi, fits_the_viewport, open_signed_in, unique_tag

# 1440 px wide, tall enough that the sidebar and the page fit in one viewport-sized picture.
SCREENSHOT_VIEWPORT = {"width": 1440, "height": 1000}
SCREENSHOT = REPO_ROOT / "docs" / "screenshots" / "policies.png"
ROUTE = "/llm-gateway/policies"
NO_MATCH = "No current matches - applies to future models"


@dataclass(frozen=True)
class PolicyWorld:
    tag: str
    user_email: str
    models: tuple[str, str]


@pytest.fixture
def admin(ui_server: UiServer) -> Iterator[AdminApi]:
    client = AdminApi(ui_server)
    yield client
    client.close()


@pytest.fixture
def world(admin: AdminApi) -> PolicyWorld:
    tag = unique_tag()
    provider_id = admin.create_provider(f"policies-{tag}", "openai", "http://127.0.0.1:9")
    models = (f"pol-{tag}-alpha", f"pol-{tag}-beta")
    admin.create_models(provider_id, models)
    user = admin.create_user(f"policy-user-{tag}@example.com", "policy-user-password-1")
    return PolicyWorld(tag=tag, user_email=user.email, models=models)


def _policy(admin: AdminApi, name: str) -> dict | None:
    return next((p for p in admin.call("GET", "/api/policies")["data"] if p["name"] == name), None)


def _row(page: Page, name: str) -> Locator:
    return page.get_by_test_id("policy-row").filter(has_text=name)


def test_create_edit_and_delete_a_policy_through_the_form(
    page: Page, ui_server: UiServer, admin: AdminApi, world: PolicyWorld
) -> None:
    name = f"Team O'Neil & Co (R&D) {world.tag}"  # quotes and ampersands stay text
    prefix = f"pol-{world.tag}-*"
    future = f"future-{world.tag}-*"
    open_signed_in(page, ROUTE, ui_server.admin_email, ui_server.admin_password)

    page.get_by_role("button", name="New policy").click()
    dialog = page.get_by_test_id("policy-dialog")
    dialog.get_by_label("Name", exact=True).fill(name)
    dialog.get_by_role("button", name="Create policy").click()
    # Both missing parts at once, and no toast repeating them.
    expect(dialog.get_by_test_id("policy-subjects-error")).to_have_text("At least one entry is required in subjects.")
    expect(dialog.get_by_test_id("policy-models-error")).to_have_text("At least one entry is required in models.")
    expect(page.locator("[data-sonner-toast]")).to_have_count(0)

    dialog.get_by_label("Search users and groups").fill(world.user_email)
    dialog.get_by_role("checkbox", name=world.user_email).click()
    expect(dialog.get_by_test_id("policy-subjects-error")).to_have_count(0)  # fixed: its message goes at once
    expect(dialog.get_by_test_id("policy-models-error")).to_be_visible()

    dialog.get_by_test_id("pattern-input").fill("bad pattern!")
    expect(dialog.get_by_role("alert").filter(has_text="can never match a model")).to_contain_text(
        '"bad pattern!" can never match a model: model names use letters, digits, spaces and the characters '
        ". _ - : / @ + ( ) , ' & # only."
    )
    dialog.get_by_role("button", name="Add", exact=True).click()
    expect(dialog.get_by_test_id("chosen-model")).to_have_count(0)

    dialog.get_by_test_id("pattern-input").fill(prefix)
    expect(dialog.get_by_test_id("pattern-preview")).to_have_text("Matches 2 models")
    dialog.get_by_role("button", name="Add", exact=True).click()
    expect(dialog.get_by_test_id("chosen-model").filter(has_text=prefix)).to_contain_text("Matches 2 models")
    dialog.get_by_test_id("pattern-input").fill(future)
    expect(dialog.get_by_test_id("pattern-preview")).to_have_text(NO_MATCH)
    dialog.get_by_role("button", name="Add", exact=True).click()
    dialog.get_by_label("Search models").fill(world.models[1])
    dialog.get_by_role("checkbox", name=world.models[1]).click()
    expect(dialog.get_by_test_id("chosen-model")).to_have_count(3)
    dialog.get_by_role("button", name="Create policy").click()

    expect(dialog).to_be_hidden()
    row = _row(page, world.tag)
    expect(row.get_by_role("rowheader")).to_have_text(name)
    expect(row).to_contain_text(world.user_email)
    assert page.evaluate("window.__xss") is None
    stored = _policy(admin, name)
    assert stored is not None
    assert (stored["subjects"], stored["models"]) == ([f"user:{world.user_email}"], [prefix, future, world.models[1]])

    row.get_by_role("button", name=f"Edit {name}").click()
    expect(dialog.get_by_label("Name", exact=True)).to_have_value(name)
    expect(dialog.get_by_test_id("chosen-model").filter(has_text=future)).to_contain_text(NO_MATCH)
    dialog.get_by_label("All users").click()
    dialog.get_by_role("button", name=f"Remove {future}").click()
    dialog.get_by_role("button", name="Save policy").click()

    expect(dialog).to_be_hidden()
    expect(row).to_contain_text("All users")
    stored = _policy(admin, name)
    assert stored is not None
    assert (stored["subjects"], stored["models"]) == (["*"], [prefix, world.models[1]])

    row.get_by_role("button", name=f"Delete {name}").click()
    page.get_by_test_id("confirm-dialog").get_by_role("button", name="Cancel").click()
    expect(row).to_be_visible()
    row.get_by_role("button", name=f"Delete {name}").click()
    expect(page.get_by_test_id("confirm-dialog")).to_contain_text(name)
    page.get_by_test_id("confirm-dialog-confirm").click()
    expect(row).to_have_count(0)
    assert _policy(admin, name) is None


def test_a_duplicate_name_is_refused_in_the_form(
    page: Page, ui_server: UiServer, admin: AdminApi, world: PolicyWorld
) -> None:
    name = f"duplicate {world.tag}"
    admin.grant(name, f"user:{world.user_email}", [world.models[0]])
    open_signed_in(page, ROUTE, ui_server.admin_email, ui_server.admin_password)

    page.get_by_role("button", name="New policy").click()
    dialog = page.get_by_test_id("policy-dialog")
    dialog.get_by_label("Name", exact=True).fill(name)
    dialog.get_by_label("All users").click()
    dialog.get_by_test_id("pattern-input").fill(world.models[0])
    expect(dialog.get_by_test_id("pattern-preview")).to_have_text("Matches 1 model")
    dialog.get_by_role("button", name="Add", exact=True).click()
    dialog.get_by_role("button", name="Create policy").click()

    expect(dialog.get_by_test_id("policy-name-error")).to_have_text(f'A policy named "{name}" already exists.')
    dialog.get_by_role("button", name="Cancel").click()
    expect(_row(page, name)).to_have_count(1)


def test_layout_at_phone_width_and_screenshot(
    new_page: Callable[..., Page], ui_server: UiServer, admin: AdminApi, world: PolicyWorld
) -> None:
    admin.grant(f"Engineering {world.tag}", f"user:{world.user_email}", [f"pol-{world.tag}-*"])
    narrow = new_page(NARROW_VIEWPORT)
    open_signed_in(narrow, ROUTE, ui_server.admin_email, ui_server.admin_password)
    expect(narrow.get_by_test_id("policy-row").first).to_be_visible()
    assert fits_the_viewport(narrow)

    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        wide = new_page(SCREENSHOT_VIEWPORT)
        open_signed_in(wide, ROUTE, ui_server.admin_email, ui_server.admin_password)
        expect(wide.get_by_test_id("policy-row").first).to_be_visible()
        wide.mouse.move(0, 0)
        wide.screenshot(path=SCREENSHOT)


@pytest.mark.parametrize("route", ["/llm-gateway/policies", "/llm-gateway/providers", "/llm-gateway/usage"])
def test_a_user_gets_the_admin_only_notice_and_no_admin_data(
    page: Page, admin: AdminApi, world: PolicyWorld, route: str
) -> None:
    admin.grant(f"visible to admins only {world.tag}", "*", [world.models[0]])
    open_signed_in(page, route, world.user_email, "policy-user-password-1")

    expect(page.get_by_test_id("admin-only")).to_contain_text("Only admins can see this page.")
    expect(page.locator("main").get_by_text(world.tag)).to_have_count(0)
    expect(page.locator("[data-sonner-toast]")).to_have_count(0)  # no refused API call behind the notice
