"""Browser-test fixtures: the whole app started exactly as `make run` starts it, and Playwright pages.

The server runs `make serve` (the command `make run` runs after installing) on a free loopback port,
with its own data folder, Reflex build folder and a known first admin. The production frontend
build happens once per test session.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.support.live import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
UI_ADMIN_EMAIL = "ui-admin@example.com"
UI_ADMIN_PASSWORD = "ui-admin-password-123"
# A laptop and a phone: every page is checked at both.
WIDE_VIEWPORT = {"width": 1440, "height": 900}
NARROW_VIEWPORT = {"width": 390, "height": 844}
# Generous on purpose: a cold machine compiles the frontend and installs its packages first.
STARTUP_DEADLINE_SECONDS = 900
SHUTDOWN_WAIT_SECONDS = 60


@dataclass(frozen=True)
class UiServer:
    url: str
    data_dir: Path
    log_path: Path
    admin_email: str = UI_ADMIN_EMAIL
    admin_password: str = UI_ADMIN_PASSWORD

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.data_dir / 'gateway.db'}"


def _server_environment(data_dir: Path, work_dir: Path, **extra: str) -> dict[str, str]:
    """The developer's environment minus gateway/Reflex settings, plus this server's own.

    MAKEFLAGS and friends go too: under `make test` they describe the outer make (and its jobserver).
    """
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("GATEWAY_", "REFLEX_", "PYTEST_")) and name not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}
    }
    environment.update(
        GATEWAY_DATA_DIR=str(data_dir),
        GATEWAY_ADMIN_EMAIL=UI_ADMIN_EMAIL,
        GATEWAY_ADMIN_PASSWORD=UI_ADMIN_PASSWORD,
        GATEWAY_SHUTDOWN_GRACE_SECONDS="5",
        # No GATEWAY_PUBLIC_URL, as `make run` starts: the Models page's snippets follow the address the browser
        # uses (a free port here), and the tests run those snippets.
        # Own build and state folders, so a `make run` the developer has open keeps working.
        REFLEX_WEB_WORKDIR=str(work_dir / "web"),
        REFLEX_STATES_WORKDIR=str(work_dir / "states"),
        # The tree under test, whatever checkout the virtualenv's editable install points at.
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])),
        **extra,
    )
    return environment


def _log_tail(log_path: Path, lines: int = 40) -> str:
    return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])


def _is_ready(url: str) -> bool:
    """Ready = the API's lifespan ran (it answers 401, not 404/5xx) and the built UI is served."""
    try:
        api = httpx.get(f"{url}/api/me", timeout=5)
        ui = httpx.get(f"{url}/login/", timeout=5)
    except httpx.HTTPError:
        return False
    return api.status_code == 401 and ui.status_code == 200 and "<html" in ui.text.lower()


def _wait_until_ready(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_DEADLINE_SECONDS
    while not _is_ready(url):
        if process.poll() is not None:
            raise RuntimeError(f"`make serve` exited with {process.returncode}:\n{_log_tail(log_path)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"`make serve` was not ready at {url}:\n{_log_tail(log_path)}")
        time.sleep(0.5)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's own process group (make, reflex, granian workers), then wait for it."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=SHUTDOWN_WAIT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=SHUTDOWN_WAIT_SECONDS)


def serve_ui(work_dir: Path, *, with_public_url: bool = False, **extra_env: str) -> Iterator[UiServer]:
    """The app (UI + REST API + proxy) served by `make serve` on a free port until the generator is closed.

    `with_public_url` sets GATEWAY_PUBLIC_URL to that address (single sign-on needs it for its callback)."""
    make = shutil.which("make")
    if make is None:
        pytest.fail("`make` is required: the UI tests start the app exactly as `make run` does")
    data_dir = work_dir / "data"
    log_path = work_dir / "server.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    if with_public_url:
        extra_env["GATEWAY_PUBLIC_URL"] = url
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [make, "--no-print-directory", "serve", f"PORT={port}", "HOST=127.0.0.1"],
            cwd=REPO_ROOT,
            env=_server_environment(data_dir, work_dir, **extra_env),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_ready(process, url, log_path)
        yield UiServer(url=url, data_dir=data_dir, log_path=log_path)
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    """The app served by `make serve` on a free port, for the whole session; it keeps the calls' bodies, so the LLM
    Calls page's drawer has some to show an auditor."""
    yield from serve_ui(tmp_path_factory.mktemp("ui-server"), GATEWAY_LLM_LOG_BODIES="true")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser: Browser, ui_server: UiServer) -> Iterator[Callable[..., Page]]:
    """Make a fresh browser profile and page (own local storage), clipboard access granted."""
    contexts: list[BrowserContext] = []

    def make_page(viewport: dict[str, int] = WIDE_VIEWPORT) -> Page:
        context = browser.new_context(
            base_url=ui_server.url,
            viewport=viewport,
            permissions=["clipboard-read", "clipboard-write"],
        )
        contexts.append(context)
        return context.new_page()

    yield make_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    """A 1280 px wide page on the UI server."""
    return new_page()
