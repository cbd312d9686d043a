"""`gateway login` / `gateway logout` as a person runs them: a real terminal (pty), shell capture of stdout, no
terminal at all, and the saved key, against a live gateway."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pexpect

from tests.cli.test_cli import invoke
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.support.live import LiveGateway

REPO_ROOT = Path(__file__).resolve().parents[2]
GATEWAY = [sys.executable, "-m", "gateway_api.cli.main"]


def cli_environment(config_home: Path, **extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("GATEWAY_")}
    return env | {"XDG_CONFIG_HOME": str(config_home), "PYTHONPATH": str(REPO_ROOT), **extra}


def key_info(url: str, key: str) -> httpx.Response:
    return httpx.get(f"{url}/api/auth/key", headers={"Authorization": f"Bearer {key}"}, timeout=30)


def test_prompts_go_to_the_terminal_and_only_the_key_to_stdout(
    live_gateway: LiveGateway, config_home: Path, tmp_path: Path
) -> None:
    captured = tmp_path / "captured"
    # The shell capture the README recommends, with the prompts answered on a real terminal.
    script = f'K="$({" ".join(GATEWAY)} login --url {live_gateway.url} --scope llm --print-token)"; printf %s "$K" > {captured}'
    child = pexpect.spawn("bash", ["-c", script], env=cli_environment(config_home), cwd=str(REPO_ROOT), timeout=60)
    child.expect_exact("Email: ")
    child.sendline(ADMIN_EMAIL)
    child.expect_exact("Password: ")
    child.sendline(ADMIN_PASSWORD)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before

    key = captured.read_bytes().decode()
    assert key.startswith("gwk_") and key == key.strip(), repr(key)
    assert key_info(live_gateway.url, key).json()["user_email"] == ADMIN_EMAIL


def test_stdout_holds_exactly_the_key_and_a_newline(
    live_gateway: LiveGateway, config_home: Path, tmp_path: Path
) -> None:
    out = tmp_path / "stdout"
    child = pexpect.spawn(
        "bash",
        ["-c", f"{' '.join(GATEWAY)} login --url {live_gateway.url} > {out}"],
        env=cli_environment(config_home),
        cwd=str(REPO_ROOT),
        timeout=60,
    )
    child.expect_exact("Email: ")
    child.sendline(ADMIN_EMAIL)
    child.expect_exact("Password: ")
    child.sendline(ADMIN_PASSWORD)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    text = out.read_bytes().decode()
    assert text.startswith("gwk_") and text.endswith("\n") and text.count("\n") == 1 and " " not in text
    assert "Signed in" in child.before.decode()  # the message went to the terminal (stderr)


def test_without_a_terminal_or_credentials_it_exits_2_naming_the_variables(
    live_gateway: LiveGateway, config_home: Path
) -> None:
    result = subprocess.run(
        [*GATEWAY, "login", "--url", live_gateway.url, "--print-token"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=cli_environment(config_home),
        cwd=REPO_ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == b""
    assert b"GATEWAY_EMAIL" in result.stderr and b"GATEWAY_PASSWORD" in result.stderr


def test_the_saved_key_is_reused_until_new_or_logout(live_gateway: LiveGateway, config_home: Path) -> None:
    env = {"GATEWAY_EMAIL": ADMIN_EMAIL, "GATEWAY_PASSWORD": ADMIN_PASSWORD}
    code, first, _ = invoke("login", "--url", live_gateway.url, "--print-token", env=env)
    assert code == 0
    code, second, err = invoke("login", "--url", live_gateway.url + "/", env=env)
    assert code == 0 and second == first and "Using your saved llm key" in err

    store = config_home / "llm-gateway" / "keys.json"
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    saved = json.loads(store.read_text())["keys"][f"{live_gateway.url} llm"]
    assert saved["key"] == first.strip()
    name = key_info(live_gateway.url, first.strip()).json()["name"]
    assert name.startswith("CLI on ") and name.endswith(" UTC")

    code, fresh, _ = invoke("login", "--url", live_gateway.url, "--new", "--print-token", env=env)
    assert code == 0 and fresh != first
    code, ui_key, _ = invoke("login", "--url", live_gateway.url, "--scope", "ui", "--print-token", env=env)
    assert code == 0 and ui_key not in (first, fresh)

    code, _, err = invoke("logout", "--url", live_gateway.url)
    assert code == 0 and "llm key" in err and "ui key" in err and "revoked" in err
    assert key_info(live_gateway.url, fresh.strip()).status_code == 401
    assert key_info(live_gateway.url, ui_key.strip()).status_code == 401
    assert key_info(live_gateway.url, first.strip()).status_code == 200  # --new left the older key alone
    assert json.loads(store.read_text())["keys"] == {}
    code, _, err = invoke("logout", "--url", live_gateway.url)
    assert code == 0 and "no saved key" in err


def test_a_revoked_saved_key_is_replaced(live_gateway: LiveGateway) -> None:
    env = {"GATEWAY_EMAIL": ADMIN_EMAIL, "GATEWAY_PASSWORD": ADMIN_PASSWORD}
    first = invoke("login", "--url", live_gateway.url, "--print-token", env=env)[1].strip()
    revoked = httpx.delete(f"{live_gateway.url}/api/auth/key", headers={"Authorization": f"Bearer {first}"}, timeout=30)
    assert revoked.status_code == 204
    code, second, _ = invoke("login", "--url", live_gateway.url, "--print-token", env=env)
    assert code == 0 and second.strip() != first
    assert key_info(live_gateway.url, second.strip()).status_code == 200


def test_an_unreachable_gateway_is_one_clear_line() -> None:
    code, out, err = invoke(
        "login", "--url", "http://127.0.0.1:9", env={"GATEWAY_EMAIL": "a@b.c", "GATEWAY_PASSWORD": "x"}
    )
    assert code == 1 and out == "" and "cannot reach http://127.0.0.1:9" in err
