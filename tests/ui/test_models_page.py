"""The Models page as a user sees it: exactly the granted models, search, copy buttons, and runnable examples."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from gateway_ui import client_setup
from tests.support.fakes.upstream import FakeUpstream
from tests.ui.conftest import NARROW_VIEWPORT, REPO_ROOT, UiServer
from tests.ui.seed import Account, AdminApi, clipboard_text, fits_the_viewport, open_signed_in, unique_tag

ROUTE = "/llm-gateway/models"
SCREENSHOT = REPO_ROOT / "docs" / "screenshots" / "models.png"
GATEWAY_CLI = REPO_ROOT / ".venv" / "bin" / "gateway"


@dataclass(frozen=True)
class ModelsSetup:
    user: Account
    anthropic_granted: list[str]
    openai_granted: list[str]
    not_granted: list[str]


@pytest.fixture(scope="module")
def models_setup(ui_server: UiServer, fake_upstream_server: FakeUpstream) -> Iterator[ModelsSetup]:
    """Admin (over the REST API): two providers on the fake upstream, models, and a policy for one new user."""
    tag = unique_tag()
    api = AdminApi(ui_server)
    try:
        anthropic_id = api.create_provider(f"Anthropic {tag}", "anthropic", fake_upstream_server.anthropic_base_url)
        openai_id = api.create_provider(f"OpenAI {tag}", "openai", fake_upstream_server.openai_base_url)
        anthropic_granted = [f"claude-sonnet-4-5-{tag}", f"claude-haiku-4-5-{tag}", f"claude-opus-4-8-{tag}"]
        openai_granted = [f"gpt-5.5-{tag}", f"gpt-5-mini-{tag}"]
        not_granted = [f"claude-secret-{tag}", f"gpt-hidden-{tag}"]
        api.create_models(anthropic_id, [*anthropic_granted, not_granted[0]])
        api.create_models(openai_id, [*openai_granted, not_granted[1]])
        user = api.create_user(f"models-{tag}@example.com", "models-user-password-1", name="Model User")
        api.grant(f"models page {tag}", f"user:{user.email}", anthropic_granted + openai_granted)
        yield ModelsSetup(user, anthropic_granted, openai_granted, not_granted)
    finally:
        api.close()


@pytest.fixture
def user_page(page: Page, models_setup: ModelsSetup) -> Page:
    open_signed_in(page, ROUTE, models_setup.user.email, models_setup.user.password)
    expect(page.get_by_test_id("provider-anthropic")).to_be_visible()
    return page


def listed_models(page: Page, kind: str) -> list[str]:
    rows = page.get_by_test_id(f"provider-{kind}").get_by_test_id("model-row")
    return [row.get_by_test_id("model-name").inner_text() for row in rows.all()]


def test_user_sees_exactly_the_granted_models_sorted_anthropic_first(
    user_page: Page, models_setup: ModelsSetup
) -> None:
    cards = user_page.locator("[data-testid^='provider-']")
    expect(cards).to_have_count(2)
    assert [cards.nth(i).get_attribute("data-testid") for i in range(2)] == ["provider-anthropic", "provider-openai"]

    anthropic = user_page.get_by_test_id("provider-anthropic")
    expect(anthropic.get_by_test_id("model-count")).to_have_text("3 models available")
    expect(user_page.get_by_test_id("provider-openai").get_by_test_id("model-count")).to_have_text("2 models available")
    assert listed_models(user_page, "anthropic") == sorted(models_setup.anthropic_granted)
    assert listed_models(user_page, "openai") == sorted(models_setup.openai_granted)
    for hidden in models_setup.not_granted:
        expect(user_page.get_by_text(hidden)).to_have_count(0)
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        user_page.screenshot(path=SCREENSHOT)


def test_search_filters_the_list_as_you_type(user_page: Page, models_setup: ModelsSetup) -> None:
    search = user_page.get_by_label("Search Anthropic models")

    search.press_sequentially("HAIKU")

    haiku = [name for name in models_setup.anthropic_granted if "haiku" in name]
    expect(user_page.get_by_test_id("provider-anthropic").get_by_test_id("model-row")).to_have_count(1)
    assert listed_models(user_page, "anthropic") == haiku
    # Each provider has its own search box.
    expect(user_page.get_by_test_id("provider-openai").get_by_test_id("model-row")).to_have_count(2)

    search.fill("no-such-model")
    expect(user_page.get_by_test_id("provider-anthropic").get_by_test_id("model-row")).to_have_count(0)
    expect(user_page.get_by_test_id("provider-anthropic")).to_contain_text("No models match your search.")

    search.fill("")
    expect(user_page.get_by_test_id("provider-anthropic").get_by_test_id("model-row")).to_have_count(3)


def test_each_copy_button_puts_exactly_its_text_on_the_clipboard(
    user_page: Page, ui_server: UiServer, models_setup: ModelsSetup
) -> None:
    first_anthropic = example_model(user_page, "anthropic", models_setup.anthropic_granted)
    first_openai = example_model(user_page, "openai", models_setup.openai_granted)
    expected = {
        "copy-base-url-anthropic": f"{ui_server.url}/api/llm-proxy/anthropic",
        "copy-base-url-openai": f"{ui_server.url}/api/llm-proxy/openai",
        "curl-example-anthropic-copy": client_setup.curl_example(ui_server.url, "anthropic", first_anthropic),
        "curl-example-openai-copy": client_setup.curl_example(ui_server.url, "openai", first_openai),
        "setup-claude-code-copy": client_setup.claude_code_setup(ui_server.url),
        "setup-codex-config-copy": client_setup.codex_config(ui_server.url, first_openai),
        "setup-codex-key-copy": client_setup.codex_key_setup(ui_server.url),
    }
    for name in models_setup.anthropic_granted + models_setup.openai_granted:
        expected[f"copy-model-{name}"] = name

    for test_id, text in expected.items():
        user_page.get_by_test_id(test_id).click()
        assert clipboard_text(user_page) == text, test_id

    # What is shown is what is copied.
    for shown in ("curl-example-anthropic", "setup-codex-config"):
        copied = expected[f"{shown}-copy"]
        assert user_page.get_by_test_id(f"{shown}-text").inner_text() == copied


def example_model(page: Page, kind: str, granted: list[str]) -> str:
    """The model a provider's curl example names, which must be one of the user's own."""
    example = page.get_by_test_id(f"curl-example-{kind}-text").inner_text()
    [model] = [name for name in granted if f'"model":"{name}"' in example]
    return model


def test_setup_snippets_carry_the_client_settings(user_page: Page, ui_server: UiServer) -> None:
    claude = user_page.get_by_test_id("setup-claude-code-text").inner_text()
    codex = user_page.get_by_test_id("setup-codex-config-text").inner_text()

    assert f'export ANTHROPIC_BASE_URL="{ui_server.url}/api/llm-proxy/anthropic"' in claude
    assert "export CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY=1" in claude
    assert f'export ANTHROPIC_API_KEY="$(gateway login --url {ui_server.url} --scope llm --print-token)"' in claude
    assert "[model_providers.gateway]" in codex
    assert f'base_url = "{ui_server.url}/api/llm-proxy/openai/v1"' in codex
    assert 'wire_api = "responses"' in codex
    assert "supports_websockets = false" in codex


def _cli_environment(account: Account, config_home: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    environment.update(
        # `gateway login` saves its key there: never in the developer's own config directory.
        XDG_CONFIG_HOME=str(config_home),
        GATEWAY_EMAIL=account.email,
        GATEWAY_PASSWORD=account.password,
        PATH=f"{GATEWAY_CLI.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return environment


def _bash(script: str, environment: dict[str, str]) -> str:
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.mark.parametrize("kind", ["anthropic", "openai"])
def test_curl_example_runs_against_the_gateway(
    user_page: Page,
    ui_server: UiServer,
    models_setup: ModelsSetup,
    fake_upstream_server: FakeUpstream,
    kind: str,
    tmp_path: Path,
) -> None:
    user_page.get_by_test_id(f"curl-example-{kind}-copy").click()
    example = clipboard_text(user_page)
    export_line, *curl_lines = example.splitlines()
    assert export_line == f'export KEY="$(gateway login --url {ui_server.url} --scope llm --print-token)"'
    environment = _cli_environment(models_setup.user, tmp_path)
    key = subprocess.run(
        [str(GATEWAY_CLI), "login", "--url", ui_server.url, "--scope", "llm", "--print-token"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    granted = models_setup.anthropic_granted if kind == "anthropic" else models_setup.openai_granted
    model = example_model(user_page, kind, granted)
    reply = fake_upstream_server.behaviour.reply_text
    calls_before = len(fake_upstream_server.requests)

    with_key = _bash("\n".join(curl_lines).replace("$KEY", key), environment)
    # Ready to run as copied: the snippet's own `gateway login` line makes the key.
    as_copied = _bash(example, environment)

    for output in (with_key, as_copied):
        assert reply in output, output
    new_calls = fake_upstream_server.requests[calls_before:]
    route = "/anthropic/v1/messages" if kind == "anthropic" else "/openai/v1/responses"
    assert [(call.path, call.json()["model"]) for call in new_calls] == [(route, model)] * 2


def test_a_user_without_grants_is_told_what_to_ask_for(page: Page, ui_server: UiServer) -> None:
    api = AdminApi(ui_server)
    try:
        lonely = api.create_user(f"no-models-{unique_tag()}@example.com", "no-models-password-1")
    finally:
        api.close()

    open_signed_in(page, ROUTE, lonely.email, lonely.password)

    empty = page.get_by_test_id("no-models")
    expect(empty).to_contain_text("No gateway models available")
    expect(empty).to_contain_text("Model Access Policy")
    expect(empty).to_contain_text(lonely.email)
    expect(page.locator("[data-testid^='provider-']")).to_have_count(0)


def test_narrow_layout(new_page: Callable[..., Page], models_setup: ModelsSetup) -> None:
    page = new_page(NARROW_VIEWPORT)
    open_signed_in(page, ROUTE, models_setup.user.email, models_setup.user.password)
    anthropic = page.get_by_test_id("provider-anthropic")
    expect(anthropic).to_be_visible()

    anthropic.get_by_test_id(f"copy-model-{models_setup.anthropic_granted[0]}").click()

    assert clipboard_text(page) == models_setup.anthropic_granted[0]
    assert fits_the_viewport(page)
