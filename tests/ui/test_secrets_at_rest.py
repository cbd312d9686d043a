"""No secret at rest in clear (issue 15): after signing in through Chromium and minting a key on the API Keys
page, no file under the UI server's data directory or Reflex's state directory holds the session token, the key or
the password, while the pickled state that names the key is there; and every such file is 0600 in 0700 dirs."""

from __future__ import annotations

import re
import stat
import time
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.ui.conftest import UiServer
from tests.ui.seed import AdminApi, open_signed_in, unique_tag

ROUTE = "/llm-gateway/keys"
WRITE_DEADLINE_SECONDS = 30  # Reflex writes pickled states after a 2 s debounce


def every_file(*roots: Path) -> list[Path]:
    return [path for root in roots for path in root.rglob("*") if path.is_file() and not path.is_symlink()]


def files_holding(needle: bytes, *roots: Path) -> list[Path]:
    return [path for path in every_file(*roots) if needle in path.read_bytes()]


def session_token(page: Page) -> str:
    stored = page.evaluate("Object.values(window.localStorage).join(' ')")
    [token] = re.findall(r"gwk_[A-Za-z0-9_-]{40,}", stored)
    return token


def test_no_token_key_or_password_in_any_file_the_ui_server_wrote(page: Page, ui_server: UiServer) -> None:
    password = f"at-rest-{unique_tag()}-password"
    admin = AdminApi(ui_server)
    user = admin.create_user(f"at-rest-{unique_tag()}@example.com", password, name="At Rest")
    admin.close()
    open_signed_in(page, ROUTE, user.email, password)
    token = session_token(page)
    key_name = f"at-rest key {unique_tag()}"
    page.get_by_role("button", name="Create key").click()
    dialog = page.get_by_test_id("create-key-dialog")
    dialog.get_by_label("Name").fill(key_name)
    dialog.get_by_role("button", name="Create key").click()
    secret_text = dialog.get_by_test_id("new-key-secret")
    expect(secret_text).to_have_text(re.compile(r"^gwk_"))
    new_key = secret_text.inner_text()

    states = ui_server.data_dir.parent / "states"
    roots = (ui_server.data_dir, states)
    deadline = time.monotonic() + WRITE_DEADLINE_SECONDS
    while not files_holding(key_name.encode(), states):
        assert time.monotonic() < deadline, "Reflex never saved the API Keys page's state: nothing was checked"
        time.sleep(0.5)

    for secret in (token, new_key, password):
        assert files_holding(secret.encode(), *roots) == [], "a secret at rest in clear"
    for path in every_file(*roots):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for directory in [*roots, *(p for root in roots for p in root.rglob("*") if p.is_dir())]:
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
