"""The Models page as a user sees it: exactly the granted models, search, copy buttons, and snippets that work as
pasted: copied from the clipboard in Chromium and run in a clean shell against this gateway (on a free port, not
8080) and the fake upstream."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from gateway_ui import client_setup
from tests.support.fakes.upstream import FakeUpstream
from tests.ui.conftest import NARROW_VIEWPORT, REPO_ROOT, UiServer
from tests.ui.seed import (
    Account,
    AdminApi,
    clipboard_text,
    fits_the_viewport,
    login_token,
    open_signed_in,
    unique_tag,
)

ROUTE = "/llm-gateway/models"
SCREENSHOT = REPO_ROOT / "docs" / "screenshots" / "models.png"
TOOLS_BIN = REPO_ROOT / ".tools" / "node_modules" / ".bin"
CLI_TIMEOUT = 180
# Keep the real CLIs off the internet and quiet; nothing here is needed for them to reach the gateway.
CLI_ISOLATION = {
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "DISABLE_AUTOUPDATER": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "NO_COLOR": "1",
}
SNIPPETS = ("curl-example-anthropic", "curl-example-openai", "setup-claude-code", "setup-codex-config",
            "setup-codex-start")  # fmt: skip


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


def copied(page: Page, test_id: str) -> str:
    page.get_by_test_id(f"{test_id}-copy").click()
    return clipboard_text(page)


def test_snippets_name_the_address_the_browser_uses_and_read_the_key_from_the_environment(
    user_page: Page, ui_server: UiServer, models_setup: ModelsSetup
) -> None:
    """No GATEWAY_PUBLIC_URL on this server (as with `make run`): every URL is the one in the address bar."""
    expected = {
        "copy-base-url-anthropic": f"{ui_server.url}/api/llm-proxy/anthropic",
        "copy-base-url-openai": f"{ui_server.url}/api/llm-proxy/openai",
    }
    for name in models_setup.anthropic_granted + models_setup.openai_granted:
        expected[f"copy-model-{name}"] = name
    for test_id, text in expected.items():
        user_page.get_by_test_id(test_id).click()
        assert clipboard_text(user_page) == text, test_id

    for snippet in SNIPPETS:
        text = copied(user_page, snippet)
        # What is shown is what is copied, and the page adds no key of its own until asked to.
        assert user_page.get_by_test_id(f"{snippet}-text").inner_text() == text
        assert "localhost:8080" not in text and "gateway login" not in text, snippet
        assert "GATEWAY_KEY=" not in text, snippet
    assert copied(user_page, "curl-example-anthropic").startswith(f"curl {ui_server.url}/api/llm-proxy/anthropic/")
    assert '"$GATEWAY_KEY"' in copied(user_page, "setup-claude-code")
    expect(user_page.get_by_test_id("key-note")).to_contain_text("$GATEWAY_KEY")
    expect(user_page.get_by_test_id("cli-login-command")).to_have_text(client_setup.login_command(ui_server.url))


def example_model(page: Page, kind: str) -> str:
    """The model a provider's curl example calls: the first of the user's models the API lists."""
    found = re.search(r'"model":"([^"]+)"', page.get_by_test_id(f"curl-example-{kind}-text").inner_text())
    assert found is not None
    return found.group(1)


def clean_bin(tmp_path: Path) -> Path:
    """A directory with only curl, sh, the two CLIs and node (Codex's launcher runs on it): the PATH of the shell
    that runs the snippets."""
    tools = {"curl": Path("/usr/bin/curl"), "sh": Path("/bin/sh"), "node": Path("/usr/bin/node")}
    tools |= {"claude": TOOLS_BIN / "claude", "codex": TOOLS_BIN / "codex"}
    for name, target in tools.items():
        if not target.exists():
            pytest.skip(f"{target} is missing (make test installs the CLIs into .tools)")
    directory = tmp_path / "bin"
    directory.mkdir()
    for name, target in tools.items():
        (directory / name).symlink_to(target.resolve())
    return directory


def run_in_clean_shell(script: str, home: Path, bin_dir: Path, **extra: str) -> str:
    """`env -i`: nothing from this process's environment, only PATH, HOME and what the test passes."""
    home.mkdir(exist_ok=True)
    environment = {"PATH": str(bin_dir), "HOME": str(home), **CLI_ISOLATION, **extra}
    result = subprocess.run(
        ["env", "-i", *(f"{k}={v}" for k, v in environment.items()), f"{bin_dir}/sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        cwd=home,
        check=False,
    )
    assert result.returncode == 0, f"exit {result.returncode}\n{script}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def one_shot(snippet: str, interactive: str, one_shot_command: str) -> str:
    """The snippet as copied, its last line (which starts the CLI's interactive session, that needs a terminal)
    given the CLI's one-shot arguments."""
    lines = snippet.splitlines()
    assert lines[-1] == interactive, snippet
    return "\n".join([*lines[:-1], one_shot_command])


def run_every_snippet(page: Page, home: Path, bin_dir: Path, **extra: str) -> list[str]:
    """Copy each snippet and run it as a user would; returns each one's output."""
    outputs = [run_in_clean_shell(copied(page, "curl-example-anthropic"), home, bin_dir, **extra)]
    outputs.append(run_in_clean_shell(copied(page, "curl-example-openai"), home, bin_dir, **extra))
    claude = one_shot(copied(page, "setup-claude-code"), "claude", 'claude -p "say hi"')
    outputs.append(run_in_clean_shell(claude, home, bin_dir, **extra))
    # The config snippet goes into ~/.codex/config.toml, as its title says.
    (home / ".codex").mkdir(parents=True, exist_ok=True)
    (home / ".codex" / "config.toml").write_text(copied(page, "setup-codex-config") + "\n")
    codex = one_shot(copied(page, "setup-codex-start"), "codex", 'codex exec --skip-git-repo-check "say hi"')
    outputs.append(run_in_clean_shell(codex, home, bin_dir, **extra))
    return outputs


def test_a_key_made_for_the_snippets_fills_them_and_every_one_runs_as_pasted(
    user_page: Page, ui_server: UiServer, models_setup: ModelsSetup, fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    admin = AdminApi(ui_server)
    try:
        keys_before = admin.call("GET", "/api/keys", params={"all": True})["count"]
        user_page.get_by_test_id("create-snippet-key").click()
        key = user_page.get_by_test_id("snippet-key")
        expect(key).to_have_text(re.compile(r"^gwk_[A-Za-z0-9_-]{40,}$"))
        secret = key.inner_text()
        user_page.get_by_test_id("copy-snippet-key").click()
        assert clipboard_text(user_page) == secret
        for snippet in SNIPPETS:
            text = copied(user_page, snippet)
            needs_key = snippet != "setup-codex-config"
            assert text.startswith(f'export GATEWAY_KEY="{secret}"\n') == needs_key, snippet
            assert user_page.get_by_test_id(f"{snippet}-text").inner_text() == text

        outputs = run_every_snippet(user_page, tmp_path / "home", clean_bin(tmp_path))

        reply = fake_upstream.behaviour.reply_text
        assert all(reply in output for output in outputs), outputs
        inference = [
            (r.path, r.json()["model"]) for r in fake_upstream.requests if r.path.endswith(("/messages", "/responses"))
        ]
        for kind, path in (("anthropic", "/anthropic/v1/messages"), ("openai", "/openai/v1/responses")):
            assert (path, example_model(user_page, kind)) in inference, "the curl example's own call"
        claude_model = next(name for name in models_setup.anthropic_granted if "sonnet" in name)
        assert ("/anthropic/v1/messages", claude_model) in inference, "Claude Code on the user's Sonnet"
        assert {model for _, model in inference} <= set(models_setup.anthropic_granted + models_setup.openai_granted)
        # One key for the snippets, minted by the button; running the snippets mints nothing.
        keys = admin.call("GET", "/api/keys", params={"all": True})["data"]
        assert len(keys) == keys_before + 1
        [made] = [k for k in keys if secret.startswith(k["prefix"])]
        assert (made["name"], made["user_email"], made["scopes"]) == (
            "Models page snippets",
            models_setup.user.email,
            ["llm"],
        )
    finally:
        admin.close()

    # Shown once: the page forgets it.
    user_page.reload()
    expect(user_page.get_by_test_id("create-snippet-key")).to_be_visible()
    assert secret not in user_page.content()


def test_without_a_key_from_the_page_the_snippets_run_with_gateway_key_set(
    user_page: Page, ui_server: UiServer, models_setup: ModelsSetup, fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    key = login_token(ui_server.url, models_setup.user.email, models_setup.user.password, scope="llm")

    outputs = run_every_snippet(user_page, tmp_path / "home", clean_bin(tmp_path), GATEWAY_KEY=key)

    assert all(fake_upstream.behaviour.reply_text in output for output in outputs), outputs


def test_an_admin_without_models_is_pointed_at_the_pages_that_grant_them(page: Page, ui_server: UiServer) -> None:
    api = AdminApi(ui_server)
    try:
        lonely_admin = api.create_user(f"no-models-admin-{unique_tag()}@example.com", "admin-pass-123", role="admin")
        lonely_user = api.create_user(f"no-models-{unique_tag()}@example.com", "no-models-password-1")
    finally:
        api.close()

    open_signed_in(page, ROUTE, lonely_admin.email, lonely_admin.password)
    empty = page.get_by_test_id("no-models")
    expect(empty).to_contain_text("No gateway models available")
    expect(empty.get_by_role("link", name="Model Access Policies")).to_have_attribute("href", "/llm-gateway/policies")
    expect(empty.get_by_role("link", name="Model Providers")).to_have_attribute("href", "/llm-gateway/providers")
    expect(page.locator("[data-testid^='provider-']")).to_have_count(0)

    page.get_by_test_id("sidebar").get_by_role("button", name="Sign out").click()
    open_signed_in(page, ROUTE, lonely_user.email, lonely_user.password)
    empty = page.get_by_test_id("no-models")
    expect(empty).to_contain_text("Model Access Policy")
    expect(empty).to_contain_text(lonely_user.email)
    expect(empty.get_by_role("link")).to_have_count(0)


def test_on_a_phone_the_model_list_comes_first_and_nothing_is_wider_than_the_screen(
    new_page: Callable[..., Page], models_setup: ModelsSetup
) -> None:
    page = new_page(NARROW_VIEWPORT)
    open_signed_in(page, ROUTE, models_setup.user.email, models_setup.user.password)
    anthropic = page.get_by_test_id("provider-anthropic")
    expect(anthropic).to_be_visible()
    page.get_by_test_id("create-snippet-key").click()
    expect(page.get_by_test_id("snippet-key")).to_be_visible()

    models_box = anthropic.get_by_test_id("model-list-anthropic").bounding_box()
    curl_box = anthropic.get_by_test_id("curl-example-anthropic-text").bounding_box()
    assert models_box and curl_box and models_box["y"] < curl_box["y"], "the list sits above the snippets"
    anthropic.get_by_test_id(f"copy-model-{models_setup.anthropic_granted[0]}").click()
    assert clipboard_text(page) == models_setup.anthropic_granted[0]
    assert fits_the_viewport(page)
    # Long lines wrap where the snippet offers to (after / , _ and ="), and what is shown is still what is copied.
    snippet = anthropic.get_by_test_id("setup-claude-code-text")
    assert snippet.locator("wbr").count() > 10
    assert snippet.inner_text() == copied(page, "setup-claude-code")
    assert page.evaluate("el => el.scrollWidth <= el.clientWidth", snippet.element_handle()), (
        "no snippet line runs out of its box"
    )


def test_wide_layout_and_screenshot(user_page: Page) -> None:
    """1440 x 900: base URL, snippets and the model list side by side, nothing wider than the window."""
    anthropic = user_page.get_by_test_id("provider-anthropic")
    models_box = anthropic.get_by_test_id("model-list-anthropic").bounding_box()
    curl_box = anthropic.get_by_test_id("curl-example-anthropic-text").bounding_box()
    assert models_box and curl_box and models_box["x"] > curl_box["x"] + curl_box["width"] - 1
    assert fits_the_viewport(user_page)
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        user_page.mouse.move(0, 0)
        user_page.screenshot(path=SCREENSHOT)
