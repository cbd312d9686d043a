"""Model Providers page: add a provider on the fake upstream, check it, import and edit models, all in the browser."""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect

from tests.support.fakes.upstream import FakeUpstream
from tests.support.live import free_port
from tests.ui.conftest import NARROW_VIEWPORT, REPO_ROOT, UiServer
from tests.ui.seed import AdminApi, fits_the_viewport, open_signed_in, unique_tag

# 1440 px wide, tall enough that the sidebar and the page fit in one viewport-sized picture.
SCREENSHOT_VIEWPORT = {"width": 1440, "height": 1000}
SCREENSHOT = REPO_ROOT / "docs" / "screenshots" / "providers.png"
ROUTE = "/llm-gateway/providers"
CREDENTIAL = "sk-ant-ui-test-credential-9f3c"


def _card(page: Page, name: str) -> Locator:
    return page.locator(f'[data-testid="provider-card"][data-provider="{name}"]')


def _model_row(card: Locator, model: str) -> Locator:
    return card.get_by_test_id("model-row").filter(has_text=model)


def _models_of(admin: AdminApi, provider_name: str) -> dict[str, dict]:
    return {m["name"]: m for m in admin.call("GET", "/api/models")["data"] if m["provider_name"] == provider_name}


def _add_provider(page: Page, name: str, base_url: str, credential: str = CREDENTIAL) -> Locator:
    page.get_by_role("button", name="Add provider").click()
    dialog = page.get_by_test_id("create-provider-dialog")
    dialog.get_by_label("Name").fill(name)
    dialog.get_by_label("Base URL").fill(base_url)
    dialog.get_by_label("Credential (API key)").fill(credential)
    dialog.get_by_role("button", name="Add provider").click()
    expect(dialog).to_be_hidden()
    return _card(page, name)


def test_configure_a_provider_check_it_import_and_edit_models(
    page: Page, ui_server: UiServer, fake_upstream: FakeUpstream
) -> None:
    tag = unique_tag()
    name = f"anthropic-{tag}"
    imported = [f"claude-imp-{tag}-a", f"claude-imp-{tag}-b"]
    fake_upstream.configure(anthropic_models=imported)
    admin = AdminApi(ui_server)
    open_signed_in(page, ROUTE, ui_server.admin_email, ui_server.admin_password)

    card = _add_provider(page, name, fake_upstream.anthropic_base_url)

    expect(card.get_by_test_id("credential-status")).to_have_text(f"Configured ····{CREDENTIAL[-4:]}")
    expect(card.get_by_test_id("provider-base-url")).to_have_text(fake_upstream.anthropic_base_url)
    assert CREDENTIAL not in page.content()

    card.get_by_role("button", name="Test connection").click()
    result = card.get_by_test_id("connection-result")
    expect(result).to_have_attribute("data-ok", "true")
    expect(result).to_contain_text(f"lists {len(imported)} models")

    card.get_by_role("button", name="Import models").click()
    import_dialog = page.get_by_test_id("import-dialog")
    import_dialog.get_by_role("checkbox", name=re.compile("Activate them now")).click()  # this time: inactive
    import_dialog.get_by_role("button", name="Import models").click()
    expect(import_dialog).to_be_hidden()
    for model in imported:
        expect(_model_row(card, model)).to_be_visible()
        expect(_model_row(card, model).get_by_role("switch")).not_to_be_checked()
    assert {m: row["active"] for m, row in _models_of(admin, name).items()} == dict.fromkeys(imported, False)

    _model_row(card, imported[0]).get_by_role("switch").click()
    expect(_model_row(card, imported[0]).get_by_role("switch")).to_be_checked()
    expect(card).to_contain_text("1 of 2 models active")
    assert _models_of(admin, name)[imported[0]]["active"] is True

    card.get_by_role("button", name=f"Edit prices of {imported[1]}").click()
    prices = page.get_by_test_id("prices-dialog")
    prices.get_by_label("Input (USD / 1M tokens)").fill("3.5")
    prices.get_by_label("Cache write (USD / 1M tokens)").fill("")
    prices.get_by_role("button", name="Save prices").click()
    expect(prices).to_be_hidden()
    expect(_model_row(card, imported[1]).get_by_role("cell").nth(2)).to_have_text("3.5")
    stored = _models_of(admin, name)[imported[1]]
    assert (stored["price_input"], stored["price_cache_write"]) == (3.5, None)
    admin.close()


def test_add_and_delete_a_model_with_confirmation_and_texts_stay_text(
    page: Page, ui_server: UiServer, fake_upstream: FakeUpstream
) -> None:
    tag = unique_tag()
    name, model = f"openai-{tag}", f"gpt-added-{tag}"
    open_signed_in(page, ROUTE, ui_server.admin_email, ui_server.admin_password)
    page.get_by_role("button", name="Add provider").click()
    dialog = page.get_by_test_id("create-provider-dialog")
    dialog.get_by_label("Name").fill(name)
    dialog.get_by_role("combobox").click()
    page.get_by_role("option", name="openai").click()
    dialog.get_by_label("Base URL").fill(fake_upstream.openai_base_url)
    dialog.get_by_role("button", name="Add provider").click()
    card = _card(page, name)
    expect(card.get_by_test_id("credential-status")).to_have_text("Not configured")

    card.get_by_role("button", name="Add model").click()
    add = page.get_by_test_id("add-model-dialog")
    add.get_by_label("Model name (as the provider spells it)").fill("not <a> valid name")
    add.get_by_label("Input (USD / 1M tokens)").fill("-1")
    add.get_by_label("Output (USD / 1M tokens)").fill("ten")
    add.get_by_role("button", name="Add model").click()
    # Every problem at once, each beside its field, in words: no field names, no patterns, no toast.
    expect(add.get_by_test_id("field-name-error")).to_have_text(
        "Start with a letter or digit; then letters, digits, spaces and . _ - : / @ + ( ) , ' & # only."
    )
    expect(add.get_by_test_id("field-price_input-error")).to_have_text("Must be 0 or more.")
    expect(add.get_by_test_id("field-price_output-error")).to_have_text("Enter a number.")
    expect(page.locator("[data-sonner-toast]")).to_have_count(0)
    add.get_by_label("Input (USD / 1M tokens)").fill("")
    expect(add.get_by_test_id("field-price_input-error")).to_have_count(0)
    expect(add.get_by_test_id("field-name-error")).to_be_visible()
    add.get_by_label("Model name (as the provider spells it)").fill(model)
    add.get_by_label("Display name").fill("<b>Bold</b> model")
    add.get_by_label("Output (USD / 1M tokens)").fill("10")
    add.get_by_role("button", name="Add model").click()
    expect(add).to_be_hidden()

    row = _model_row(card, model)
    expect(row).to_contain_text("<b>Bold</b> model")
    expect(row.locator("b")).to_have_count(0)
    expect(row.get_by_role("cell").nth(3)).to_have_text("10")

    row.get_by_role("button", name=f"Delete {model}").click()
    page.get_by_test_id("confirm-dialog").get_by_role("button", name="Cancel").click()
    expect(row).to_be_visible()
    row.get_by_role("button", name=f"Delete {model}").click()
    page.get_by_test_id("confirm-dialog-confirm").click()
    expect(row).to_have_count(0)


def test_failures_are_shown_and_validation_errors_sit_by_their_field(
    page: Page, ui_server: UiServer, fake_upstream: FakeUpstream
) -> None:
    tag = unique_tag()
    name = f"broken-{tag}"
    open_signed_in(page, ROUTE, ui_server.admin_email, ui_server.admin_password)

    page.get_by_role("button", name="Add provider").click()
    dialog = page.get_by_test_id("create-provider-dialog")
    dialog.get_by_label("Name").fill(name)
    dialog.get_by_label("Base URL").fill("ftp://example.com")
    dialog.get_by_role("button", name="Add provider").click()
    expect(dialog.get_by_test_id("field-base_url-error")).to_have_text(
        "Must be an http:// or https:// URL with a host."
    )
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()

    card = _add_provider(page, name, fake_upstream.anthropic_base_url)
    fake_upstream.configure(error_status=401)
    card.get_by_role("button", name="Test connection").click()
    expect(card.get_by_test_id("connection-result")).to_have_attribute("data-ok", "false")
    fake_upstream.reset()

    unreachable = f"http://127.0.0.1:{free_port()}"
    card.get_by_role("button", name="Edit", exact=True).click()
    edit = page.get_by_test_id("base-url-dialog")
    edit.get_by_label("Base URL").fill(unreachable)
    edit.get_by_role("button", name="Save base URL").click()
    expect(card.get_by_test_id("provider-base-url")).to_have_text(unreachable)
    # Another host: the key bound to the old one is gone, and the page says it must be entered again (issue 15).
    expect(page.get_by_text("Enter the API key again")).to_be_visible()
    expect(card.get_by_test_id("credential-status")).to_have_text("Not configured")
    card.get_by_role("button", name="Edit", exact=True).click()
    edit.get_by_label("Credential for the new host (optional)").fill(CREDENTIAL)
    edit.get_by_role("button", name="Save base URL").click()
    expect(card.get_by_test_id("credential-status")).not_to_have_text("Not configured")
    card.get_by_role("button", name="Test connection").click()
    result = card.get_by_test_id("connection-result")
    expect(result).to_have_attribute("data-ok", "false")
    expect(result).to_contain_text("unreachable")

    card.get_by_role("button", name="Remove").click()
    page.get_by_test_id("confirm-dialog-confirm").click()
    expect(card.get_by_test_id("credential-status")).to_have_text("Not configured")
    card.get_by_role("button", name="Test connection").click()
    expect(card.get_by_test_id("connection-result")).to_contain_text("no credential is configured")

    card.get_by_role("button", name=re.compile("Delete provider")).click()
    page.get_by_test_id("confirm-dialog-confirm").click()
    expect(card).to_have_count(0)


def test_import_takes_the_providers_display_names_and_can_activate_them_all(
    page: Page, ui_server: UiServer, fake_upstream: FakeUpstream
) -> None:
    tag = unique_tag()
    name = f"import-{tag}"
    models = {f"claude-opus-4-8-{tag}": "Claude Opus 4.8", f"claude-haiku-4-5-{tag}": "Claude Haiku 4.5"}
    fake_upstream.configure(anthropic_models=list(models), anthropic_display_names=models)
    admin = AdminApi(ui_server)
    open_signed_in(page, ROUTE, ui_server.admin_email, ui_server.admin_password)
    card = _add_provider(page, name, fake_upstream.anthropic_base_url)

    card.get_by_role("button", name="Import models").click()
    dialog = page.get_by_test_id("import-dialog")
    expect(dialog.get_by_role("checkbox", name=re.compile("Activate them now"))).to_be_checked()
    dialog.get_by_role("button", name="Import models").click()

    expect(page.get_by_text("Imported 2 models, active now")).to_be_visible()
    expect(card).to_contain_text("2 of 2 models active")
    for model, display_name in models.items():
        row = _model_row(card, model)
        expect(row).to_contain_text(display_name)
        expect(row.get_by_role("switch")).to_be_checked()
    stored = _models_of(admin, name)
    assert {m: (row["display_name"], row["active"]) for m, row in stored.items()} == {
        m: (shown, True) for m, shown in models.items()
    }
    admin.close()


def test_every_provider_form_refuses_bad_input_with_a_reason(
    page: Page, ui_server: UiServer, fake_upstream: FakeUpstream
) -> None:
    tag = unique_tag()
    open_signed_in(page, ROUTE, ui_server.admin_email, ui_server.admin_password)
    page.get_by_role("button", name="Add provider").click()
    dialog = page.get_by_test_id("create-provider-dialog")
    dialog.get_by_label("Name").fill("")
    dialog.get_by_label("Base URL").fill("not a url")
    dialog.get_by_label("Credential (API key)").fill("has spaces in it")
    dialog.get_by_role("button", name="Add provider").click()
    expect(dialog.get_by_test_id("field-name-error")).to_have_text("Required.")
    expect(dialog.get_by_test_id("field-base_url-error")).to_contain_text("Must be an http:// or https:// URL")
    expect(dialog.get_by_test_id("field-credential-error")).to_have_text(
        "Paste the API key exactly: no spaces, and only the characters API keys use."
    )
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()

    card = _add_provider(page, f"forms-{tag}", fake_upstream.anthropic_base_url)
    page.get_by_role("button", name="Add provider").click()  # the same name again: taken
    dialog.get_by_label("Name").fill(f"forms-{tag}")
    dialog.get_by_role("button", name="Add provider").click()
    expect(dialog.get_by_test_id("field-name-error")).to_contain_text("already exists")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()

    card.get_by_role("button", name="Change").click()
    credential = page.get_by_test_id("credential-dialog")
    credential.get_by_role("button", name="Save credential").click()
    expect(credential.get_by_test_id("field-credential-error")).to_have_text("Paste the provider's API key.")
    credential.get_by_role("button", name="Cancel").click()
    expect(credential).to_be_hidden()

    card.get_by_role("button", name="Edit", exact=True).click()
    base_url = page.get_by_test_id("base-url-dialog")
    base_url.get_by_label("Base URL").fill("https://example.com/?q=1")
    base_url.get_by_role("button", name="Save base URL").click()
    expect(base_url.get_by_test_id("field-base_url-error")).to_have_text("Must not contain a query or fragment.")
    base_url.get_by_role("button", name="Cancel").click()
    expect(base_url).to_be_hidden()

    card.get_by_role("button", name="Add model").click()
    card_model = f"claude-prices-{tag}"
    add = page.get_by_test_id("add-model-dialog")
    add.get_by_label("Model name (as the provider spells it)").fill(card_model)
    add.get_by_role("button", name="Add model").click()
    expect(add).to_be_hidden()
    card.get_by_role("button", name=f"Edit prices of {card_model}").click()
    prices = page.get_by_test_id("prices-dialog")
    prices.get_by_label("Cache read (USD / 1M tokens)").fill("2000000")
    prices.get_by_label("Cache write (USD / 1M tokens)").fill("-0.5")
    prices.get_by_role("button", name="Save prices").click()
    expect(prices.get_by_test_id("field-price_cache_read-error")).to_have_text("Must be 1000000 or less.")
    expect(prices.get_by_test_id("field-price_cache_write-error")).to_have_text("Must be 0 or more.")
    expect(page.locator("[data-sonner-toast]")).to_have_count(0)


def test_layout_at_phone_width_and_screenshot(new_page: Callable[..., Page], ui_server: UiServer) -> None:
    narrow = new_page(NARROW_VIEWPORT)
    open_signed_in(narrow, ROUTE, ui_server.admin_email, ui_server.admin_password)
    expect(narrow.get_by_role("button", name="Add provider")).to_be_visible()
    expect(narrow.get_by_test_id("loading-state")).to_have_count(0)
    assert fits_the_viewport(narrow)

    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        wide = new_page(SCREENSHOT_VIEWPORT)
        open_signed_in(wide, ROUTE, ui_server.admin_email, ui_server.admin_password)
        expect(wide.get_by_test_id("provider-card").first).to_be_visible()
        wide.mouse.move(0, 0)
        wide.screenshot(path=SCREENSHOT)
