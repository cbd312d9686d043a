"""Every `gateway` command from a fresh temporary data folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

from gateway_api.cli.durations import parse_duration_days
from gateway_api.cli.main import app
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.support.live import LiveGateway, free_port

runner = CliRunner()


@pytest.fixture
def cli_env(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {
        "GATEWAY_DATA_DIR": str(tmp_path / "data"),
        "GATEWAY_DATABASE_URL": database_url,
        "GATEWAY_SECRET_KEY": "cli-test-secret-key-0123456789",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.usefixtures("cli_env")
def test_users_and_keys_round_trip() -> None:
    code, out, _ = invoke(
        "users", "create", "--email", "Carol@Example.com", "--group", "eng", "--password", "carol-pw-123"
    )
    assert code == 0, out
    code, out, _ = invoke("users", "list")
    assert code == 0 and "carol@example.com" in out and "eng" in out

    code, out, _ = invoke("keys", "create", "--user", "carol@example.com", "--name", "laptop")
    assert code == 0
    secret = out.strip()
    assert secret.startswith("gwk_") and "\n" not in secret, "prints only the key"

    code, out, _ = invoke("keys", "create", "--user", "carol@example.com", "--no-expiration", "--scope", "llm")
    assert code == 0
    code, listing, _ = invoke("keys", "list", "--user", "carol@example.com")
    assert code == 0 and "laptop" in listing and secret[:12] in listing and "never" in listing
    assert secret not in listing

    key_id = next(line.split()[0] for line in listing.splitlines() if "laptop" in line)
    code, out, _ = invoke("keys", "revoke", key_id)
    assert code == 0
    assert "revoked" in invoke("keys", "list")[1]


@pytest.mark.usefixtures("cli_env")
def test_cli_errors_are_clear_and_non_zero() -> None:
    code, _, err = invoke("keys", "create", "--user", "nobody@example.com")
    assert code == 1 and "no user nobody@example.com" in err
    code, _, err = invoke("keys", "revoke", "999")
    assert code == 1 and "no key with id 999" in err
    invoke("users", "create", "--email", "dup@example.com", "--password", "dup-pw-123")
    code, _, err = invoke("users", "create", "--email", "dup@example.com", "--password", "dup-pw-123")
    assert code == 1 and "already exists" in err
    code, _, err = invoke("keys", "create", "--user", "dup@example.com", "--expires-in", "3d", "--no-expiration")
    assert code == 1


def test_bad_settings_stop_the_cli_with_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GATEWAY_PUBLIC_URL", "nope")
    code, _, err = invoke("db", "upgrade")
    assert code == 1 and "GATEWAY_PUBLIC_URL" in err


@pytest.mark.usefixtures("cli_env")
def test_db_upgrade() -> None:
    assert invoke("db", "upgrade")[0] == 0
    assert invoke("db", "upgrade")[0] == 0


def test_every_command_has_help() -> None:
    for command in (
        ["serve"],
        ["login"],
        ["logout"],
        ["keys", "create"],
        ["keys", "list"],
        ["keys", "revoke"],
        ["users", "create"],
        ["users", "list"],
        ["db", "upgrade"],
    ):
        code, out, _ = invoke(*command, "--help")
        assert code == 0 and "Usage" in out, command


def test_durations() -> None:
    assert parse_duration_days("30d") == 30
    assert parse_duration_days("12h") == 0.5
    with pytest.raises(typer.BadParameter):
        parse_duration_days("soon")


def test_login_prints_only_a_working_llm_key(live_gateway: LiveGateway) -> None:
    env = {"GATEWAY_PASSWORD": ADMIN_PASSWORD}
    code, out, _ = invoke("login", "--url", live_gateway.url, "--email", ADMIN_EMAIL, "--print-token", env=env)
    assert code == 0
    token = out.strip()
    assert token.startswith("gwk_") and "\n" not in token
    itself = httpx.get(f"{live_gateway.url}/api/auth/key", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert itself.status_code == 200 and itself.json()["user_email"] == ADMIN_EMAIL
    assert itself.json()["scopes"] == ["llm"]
    me = httpx.get(f"{live_gateway.url}/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert me.status_code == 403, "an llm key, even an admin's, does not open the REST API"

    code, out, _ = invoke(
        "login", "--url", live_gateway.url, "--email", ADMIN_EMAIL, "--scope", "api", "--print-token", env=env
    )
    api_key = out.strip()
    me = httpx.get(f"{live_gateway.url}/api/me", headers={"Authorization": f"Bearer {api_key}"}, timeout=30)
    assert code == 0 and me.status_code == 200 and me.json()["email"] == ADMIN_EMAIL

    wrong = {"GATEWAY_PASSWORD": "wrong"}
    code, _, err = invoke("login", "--url", live_gateway.url, "--email", ADMIN_EMAIL, "--new", env=wrong)
    assert code == 1 and "401" in err


def test_serve_applies_config_creates_admin_and_stops_on_sigterm(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text("groups: [eng]\n")
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")},
        "GATEWAY_DATA_DIR": str(tmp_path / "data"),
        "GATEWAY_ADMIN_EMAIL": "root@example.com",
        "GATEWAY_ADMIN_PASSWORD": "root-password-1",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway_api.cli.main",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--config",
            str(config),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.post(
                    f"http://127.0.0.1:{port}/api/auth/login",
                    json={"email": "root@example.com", "password": "root-password-1"},
                    timeout=30,
                )
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "gateway serve did not start"
                time.sleep(0.2)
        assert response.status_code == 200
        assert (tmp_path / "data" / "secret.key").exists()
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=60)[0]
    assert process.returncode == 0, output
    assert "root-password-1" not in output


def test_a_broken_config_stops_serve_with_the_reason(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("providers: [{name: x, kind: azure}]\n")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}, "GATEWAY_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "gateway_api.cli.main", "serve", "--config", str(config), "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert f"{config}: providers[0].kind" in result.stderr


def test_cli_changes_are_audited_as_cli(cli_env: dict[str, str], database_url: str) -> None:
    from sqlmodel import Session, col, create_engine, select

    from gateway_api.db.models import AuditEvent

    assert (
        invoke("users", "create", "--email", "dan@example.com", "--role", "auditor", "--password", "dan-pw-1234")[0]
        == 0
    )
    code, secret, _ = invoke("keys", "create", "--user", "dan@example.com", "--name", "ci")
    assert code == 0
    key_id = next(line.split()[0] for line in invoke("keys", "list")[1].splitlines() if " ci " in line)
    assert invoke("keys", "revoke", key_id)[0] == 0
    assert invoke("keys", "revoke", key_id)[0] == 0, "revoking twice is fine and audited once"

    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            trail = session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
    finally:
        engine.dispose()
    assert [(e.action, e.actor_email, e.actor_user_id) for e in trail] == [
        ("user.create", "cli", None),
        ("key.create", "cli", None),
        ("key.revoke", "cli", None),
    ]
    user_event, key_event, revoke_event = trail
    assert user_event.after is not None and (user_event.after["email"], user_event.after["role"]) == (
        "dan@example.com",
        "auditor",
    )
    assert key_event.target_id == key_id and key_event.after is not None and key_event.after["name"] == "ci"
    assert revoke_event.before is not None and revoke_event.before["revoked_at"] is None
    assert revoke_event.after is not None and revoke_event.after["revoked_at"] is not None
    assert secret.strip() not in str([(e.before, e.after) for e in trail])
    assert "dan-pw-1234" not in str([(e.before, e.after) for e in trail])
