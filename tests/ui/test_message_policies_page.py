"""Message Policies page: create a pattern policy through the dialog (a bad pattern named on its field, a try-it
verdict with the redacted text), edit and delete it; policies made through the API listed; auditors read only."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.ui.conftest import NARROW_VIEWPORT, REPO_ROOT, UiServer
from tests.ui.seed import AdminApi, fits_the_viewport, open_signed_in, unique_tag

SCREENSHOT_VIEWPORT = {"width": 1440, "height": 1000}
SCREENSHOT = REPO_ROOT / "docs" / "screenshots" / "message-policies.png"
ROUTE = "/llm-gateway/message-policies"
AWS_KEY = "AKIAABCDEFGHIJKLMNOP"


@dataclass(frozen=True)
class World:
    tag: str
    user_email: str


@pytest.fixture
def admin(ui_server: UiServer) -> Iterator[AdminApi]:
    client = AdminApi(ui_server)
    yield client
    client.close()


@pytest.fixture
def world(admin: AdminApi) -> World:
    tag = unique_tag()
    user = admin.create_user(f"mp-user-{tag}@example.com", "mp-user-password-1")
    return World(tag=tag, user_email=user.email)


def create_message_policy(admin: AdminApi, name: str, **changes: object) -> dict:
    body: dict[str, object] = {
        "name": name,
        "subjects": ["*"],
        "scope": ["user_messages"],
        "action": "block",
        "rule": {"pattern": "forbidden-[0-9]+", "builtins": []},
    }
    body.update(changes)
    return admin.call("POST", "/api/message-policies", json=body)


def _stored(admin: AdminApi, name: str) -> dict | None:
    return next((p for p in admin.call("GET", "/api/message-policies") if p["name"] == name), None)


def _row(page: Page, name: str) -> Locator:
    return page.get_by_test_id("message-policy-row").filter(has_text=name)


def test_create_try_edit_and_delete_a_pattern_policy(
    page: Page, ui_server: UiServer, admin: AdminApi, world: World
) -> None:
    name = f"no-cloud-keys-{world.tag}"
    open_signed_in(page, ROUTE, ui_server.admin_email, ui_server.admin_password)

    page.get_by_role("button", name="New message policy").click()
    dialog = page.get_by_test_id("message-policy-dialog")
    dialog.get_by_label("Name", exact=True).fill(name)
    dialog.get_by_label("Search users and groups").fill(world.user_email)
    dialog.get_by_role("checkbox", name=world.user_email).click()
    dialog.get_by_role("checkbox", name="Tool results").click()
    dialog.get_by_label("Pattern (regular expression, RE2 syntax)").fill("AKIA[0-9A-Z{16}")
    dialog.get_by_role("button", name="Create policy").click()
    # The API's message beside the pattern box, nothing in a toast; the dialog stays open with what was typed.
    expect(dialog.get_by_test_id("message-policy-pattern-error")).to_be_visible()
    expect(page.locator("[data-sonner-toast]")).to_have_count(0)
    dialog.get_by_label("Pattern (regular expression, RE2 syntax)").fill("AKIA[0-9A-Z]{16}")
    expect(dialog.get_by_test_id("message-policy-pattern-error")).to_have_count(0)

    dialog.get_by_role("combobox", name="Action").click()
    page.get_by_role("option", name="redact", exact=True).click()
    dialog.get_by_test_id("try-text").fill(f"my key is {AWS_KEY}, keep it safe")
    dialog.get_by_role("button", name="Try it").click()
    expect(dialog.get_by_test_id("try-verdict")).to_have_text("Violation: redact (1 match)")
    expect(dialog.get_by_test_id("try-redacted")).to_have_text(f"my key is [REDACTED:{name}], keep it safe")
    dialog.get_by_test_id("try-text").fill("nothing secret here")
    dialog.get_by_role("button", name="Try it").click()
    expect(dialog.get_by_test_id("try-verdict")).to_have_text("No violation")
    assert _stored(admin, name) is None  # trying saves nothing

    dialog.get_by_role("button", name="Create policy").click()
    expect(dialog).to_be_hidden()
    row = _row(page, name)
    expect(row).to_contain_text(world.user_email)
    expect(row).to_contain_text("User messages")
    expect(row).to_contain_text("Tool results")
    expect(row).to_contain_text("redact")
    expect(row).to_contain_text("AKIA[0-9A-Z]{16}")
    stored = _stored(admin, name)
    assert stored is not None
    assert (stored["subjects"], stored["scope"], stored["action"], stored["rule"]["pattern"]) == (
        [f"user:{world.user_email}"],
        ["user_messages", "tool_results"],
        "redact",
        "AKIA[0-9A-Z]{16}",
    )

    row.get_by_role("button", name=f"Edit {name}").click()
    expect(dialog.get_by_label("Name", exact=True)).to_have_value(name)
    dialog.get_by_role("checkbox", name="Tool calls").click()
    dialog.get_by_role("button", name="Save policy").click()
    # Redaction cannot rewrite a tool call the model made: the API says so on the field.
    expect(dialog.get_by_test_id("message-policy-action-error")).to_contain_text("tool_calls")
    dialog.get_by_role("checkbox", name="Tool calls").click()
    dialog.get_by_role("combobox", name="Action").click()
    page.get_by_role("option", name="monitor", exact=True).click()
    dialog.get_by_role("button", name="Save policy").click()
    expect(dialog).to_be_hidden()
    expect(row).to_contain_text("monitor")
    stored = _stored(admin, name)
    assert stored is not None and stored["action"] == "monitor"

    row.get_by_role("button", name=f"Delete {name}").click()
    expect(page.get_by_test_id("confirm-dialog")).to_contain_text(name)
    page.get_by_test_id("confirm-dialog-confirm").click()
    expect(row).to_have_count(0)
    assert _stored(admin, name) is None


def test_a_judge_policy_made_through_the_api_is_listed_and_the_judge_is_chosen(
    page: Page, ui_server: UiServer, admin: AdminApi, world: World
) -> None:
    name = f"no-medical-advice-{world.tag}"
    rule = "Block requests for a medical diagnosis or for treatment advice."
    create_message_policy(admin, name, rule={"judge": rule}, on_judge_error="allow")
    open_signed_in(page, ROUTE, ui_server.admin_email, ui_server.admin_password)

    row = _row(page, name)
    expect(row).to_contain_text("judge")
    expect(row).to_contain_text(rule)
    expect(row).to_contain_text("All users")
    row.get_by_role("button", name=f"Edit {name}").click()
    dialog = page.get_by_test_id("message-policy-dialog")
    expect(dialog.get_by_label("Rule for the judge")).to_have_value(rule)
    if admin.call("GET", "/api/message-policies/judge")["model"] is None:
        expect(dialog.get_by_test_id("no-judge-warning")).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()


def test_auditors_read_message_policies_without_changing_them(
    page: Page, ui_server: UiServer, admin: AdminApi, world: World
) -> None:
    name = f"audited-{world.tag}"
    create_message_policy(admin, name)
    auditor = admin.create_user(f"mp-auditor-{world.tag}@example.com", "mp-auditor-password-1", role="auditor")
    open_signed_in(page, ROUTE, auditor.email, auditor.password)

    expect(page.get_by_test_id("read-only")).to_be_visible()
    expect(_row(page, name)).to_contain_text("forbidden-[0-9]+")
    expect(page.get_by_role("button", name="New message policy")).to_have_count(0)
    expect(_row(page, name).get_by_role("button", name=f"Edit {name}")).to_have_count(0)


def test_layout_at_phone_width_and_screenshot(
    new_page: Callable[..., Page], ui_server: UiServer, admin: AdminApi, world: World
) -> None:
    create_message_policy(
        admin,
        f"no-cloud-keys {world.tag}",
        scope=["user_messages", "tool_results"],
        action="redact",
        rule={"pattern": "AKIA[0-9A-Z]{16}", "builtins": []},
    )
    create_message_policy(
        admin,
        f"no-medical-advice {world.tag}",
        subjects=[f"user:{world.user_email}"],
        rule={"judge": "Block requests for a medical diagnosis or for treatment advice."},
    )
    narrow = new_page(NARROW_VIEWPORT)
    open_signed_in(narrow, ROUTE, ui_server.admin_email, ui_server.admin_password)
    expect(narrow.get_by_test_id("message-policy-row").first).to_be_visible()
    assert fits_the_viewport(narrow)

    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        wide = new_page(SCREENSHOT_VIEWPORT)
        open_signed_in(wide, ROUTE, ui_server.admin_email, ui_server.admin_password)
        expect(wide.get_by_test_id("message-policy-row").first).to_be_visible()
        wide.mouse.move(0, 0)
        wide.screenshot(path=SCREENSHOT)
