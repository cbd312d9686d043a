"""`gateway login` with single sign-on, through a real identity provider process and real Chromium: the browser
flow with its loopback redirect, and the code confirmed in any browser when no browser opens here."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.cli.test_login import GATEWAY, REPO_ROOT, cli_environment, key_info
from tests.support.oidc import SsoGateway
from tests.ui.conftest import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context()
    yield context.new_page()
    context.close()


def url_opener(tmp_path: Path) -> tuple[str, Path]:
    """A BROWSER command (Python's webbrowser honours it) that hands the URL to the test's Chromium."""
    opened = tmp_path / "opened-url"
    script = tmp_path / "open-browser"
    script.write_text(f'#!/bin/sh\nprintf %s "$1" > {opened}\n')
    script.chmod(0o755)
    return str(script), opened


def wait_for(path: Path, process: subprocess.Popen[bytes], seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    while not path.exists() or not path.read_text():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the CLI opened no browser"
        time.sleep(0.05)
    return path.read_text()


def authorize_in_browser(page: Page, sub: str) -> None:
    page.get_by_placeholder("sub").fill(sub)
    page.get_by_role("button", name="Authorize").click()


def run_cli(sso_gateway: SsoGateway, config_home: Path, *args: str, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*GATEWAY, "login", "--url", sso_gateway.url, "--print-token", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_environment(config_home, **env),
        cwd=REPO_ROOT,
    )


def test_the_browser_flow_signs_in_with_a_loopback_redirect(
    sso_gateway: SsoGateway, config_home: Path, tmp_path: Path, page: Page
) -> None:
    sso_gateway.idp.set_user("cli-alice", email="cli-alice@example.com", groups=["eng"])
    opener, opened = url_opener(tmp_path)
    process = run_cli(sso_gateway, config_home, BROWSER=opener)

    page.goto(wait_for(opened, process))
    authorize_in_browser(page, "cli-alice")

    expect(page.get_by_test_id("cli-done")).to_contain_text("The gateway CLI has its key")
    assert re.match(r"http://127\.0\.0\.1:\d+/callback/", page.url)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    key = out.decode()
    assert key.startswith("gwk_") and key.endswith("\n") and key.count("\n") == 1
    info = key_info(sso_gateway.url, key.strip()).json()
    assert info["user_email"] == "cli-alice@example.com" and info["scopes"] == ["llm"]
    models = httpx.get(
        f"{sso_gateway.url}/api/llm-proxy/openai/v1/models", headers={"Authorization": f"Bearer {key.strip()}"}
    )
    assert models.status_code == 200
    assert key.strip() not in err.decode()

    # The next login reuses the saved key without any browser.
    again = subprocess.run(
        [*GATEWAY, "login", "--url", sso_gateway.url, "--print-token"],
        capture_output=True,
        env=cli_environment(config_home, BROWSER="/bin/false"),
        cwd=REPO_ROOT,
        timeout=60,
        check=False,
    )
    assert again.returncode == 0 and again.stdout == out


@pytest.mark.parametrize("how", [["--no-browser"], []], ids=["no-browser", "browser-fails"])
def test_the_device_flow_confirms_a_code_in_any_browser(
    sso_gateway: SsoGateway, config_home: Path, page: Page, how: list[str]
) -> None:
    sub = f"cli-bob-{len(how)}"
    sso_gateway.idp.set_user(sub, email=f"{sub}@example.com", groups=["ml"])
    process = run_cli(sso_gateway, config_home, *how, BROWSER="/bin/false")
    assert process.stderr is not None
    lines = []
    while not any("enter the code" in line for line in lines):
        line = process.stderr.readline().decode()
        assert line, "".join(lines)
        lines.append(line)
    match = re.search(r"open (\S+) in any browser and enter the code ([A-Z]{4}-[A-Z]{4})", "".join(lines))
    assert match, lines
    assert ("No browser could be opened" in "".join(lines)) == (not how)

    page.goto(match.group(1))
    page.get_by_label("Code").fill(match.group(2).lower().replace("-", ""))
    page.get_by_role("button", name="Continue with single sign-on").click()
    authorize_in_browser(page, sub)
    expect(page.get_by_test_id("user-code")).to_have_text(match.group(2))
    expect(page.locator("main")).to_contain_text(f"{sub}@example.com")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_test_id("device-result")).to_contain_text("The CLI is signed in")

    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    key = out.decode().strip()
    assert key_info(sso_gateway.url, key).json()["user_email"] == f"{sub}@example.com"


def test_a_denied_device_code_ends_the_cli(sso_gateway: SsoGateway, config_home: Path, page: Page) -> None:
    sso_gateway.idp.set_user("cli-carl", email="cli-carl@example.com")
    process = run_cli(sso_gateway, config_home, "--no-browser")
    assert process.stderr is not None
    text = ""
    while "enter the code" not in text:
        text += process.stderr.readline().decode()
    match = re.search(r"open (\S+) in any browser and enter the code (\S+)", text)
    assert match
    page.goto(f"{match.group(1)}?user_code={match.group(2)}")
    page.get_by_role("button", name="Continue with single sign-on").click()
    authorize_in_browser(page, "cli-carl")
    page.get_by_role("button", name="Deny").click()
    expect(page.get_by_test_id("device-result")).to_contain_text("not signed in")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1 and out == b"" and b"denied" in err


def test_no_expiration_is_refused_clearly_for_non_admins(
    sso_gateway: SsoGateway, config_home: Path, tmp_path: Path, page: Page
) -> None:
    sso_gateway.idp.set_user("cli-dina", email="cli-dina@example.com")
    opener, opened = url_opener(tmp_path)
    process = run_cli(sso_gateway, config_home, "--no-expiration", BROWSER=opener)
    page.goto(wait_for(opened, process))
    authorize_in_browser(page, "cli-dina")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1 and out == b""
    assert b"only administrators may create keys that never expire" in err


def test_a_wrong_device_code_is_told_on_the_page(sso_gateway: SsoGateway, page: Page) -> None:
    page.goto(f"{sso_gateway.url}/api/auth/device")
    page.get_by_label("Code").fill("BCDF-GHJK")
    page.get_by_role("button", name="Continue with single sign-on").click()
    expect(page.get_by_test_id("sso-error")).to_contain_text("unknown or has expired")
