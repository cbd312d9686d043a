"""The real Claude Code and Codex CLIs (installed from npm into .tools by `make test`) through a live gateway."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from gateway_api.db.models import Outcome
from tests.proxy.conftest import SONNET, ProxyEnv

TOOLS_BIN = Path(__file__).resolve().parents[2] / ".tools" / "node_modules" / ".bin"
REPLY = "Hello from the fake upstream, one word at a time."
CLI_TIMEOUT = 120


def _cli(name: str) -> Path:
    path = TOOLS_BIN / name
    if not path.exists():
        pytest.skip(f"{path} is missing: run `npm install --prefix .tools @anthropic-ai/claude-code @openai/codex`")
    return path


def _isolated_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean environment: a temp HOME, no proxy or provider variables inherited from the developer."""
    keep = ("PATH", "LANG", "TERM", "TMPDIR")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), NO_COLOR="1", **extra)
    return env


def _run(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command,
        check=False,
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result


def test_claude_code_print_mode(proxy_env: ProxyEnv, alice_key: str, tmp_path: Path) -> None:
    claude = _cli("claude")
    env = _isolated_env(
        tmp_path,
        ANTHROPIC_BASE_URL=proxy_env.anthropic_url,
        ANTHROPIC_API_KEY=alice_key,
        ANTHROPIC_DEFAULT_HAIKU_MODEL="claude-haiku-4-5",
        ANTHROPIC_SMALL_FAST_MODEL="claude-haiku-4-5",
        DISABLE_TELEMETRY="1",
        DISABLE_ERROR_REPORTING="1",
        DISABLE_AUTOUPDATER="1",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
    )

    result = _run([str(claude), "-p", "say hi", "--model", SONNET], env, tmp_path)

    assert REPLY in result.stdout
    inference = [r for r in proxy_env.fake.requests if r.path == "/anthropic/v1/messages"]
    assert inference, "Claude Code made no inference call through the gateway"
    assert all(r.headers["x-api-key"] != alice_key for r in proxy_env.fake.requests)
    rows = proxy_env.usage_rows(len(inference))
    assert all(row.outcome == Outcome.ok and row.client.startswith("claude-cli/") for row in rows)
    assert any(row.model == SONNET and row.streamed and row.session_id for row in rows)


def test_codex_exec(proxy_env: ProxyEnv, alice_key: str, tmp_path: Path) -> None:
    codex = _cli("codex")
    codex_home = tmp_path / "codex-home"
    codex_home.mkdir()
    (codex_home / "config.toml").write_text(
        f"""
model = "gpt-5"
model_provider = "gateway"
check_for_update_on_startup = false

[model_providers.gateway]
name = "LLM gateway"
base_url = "{proxy_env.openai_url}"
env_key = "GATEWAY_API_KEY"
wire_api = "responses"
supports_websockets = false
request_max_retries = 0
stream_max_retries = 0
"""
    )
    workdir = tmp_path / "work"
    workdir.mkdir()
    env = _isolated_env(tmp_path, CODEX_HOME=str(codex_home), GATEWAY_API_KEY=alice_key)

    result = _run([str(codex), "exec", "--skip-git-repo-check", "say hi"], env, workdir)

    assert REPLY in result.stdout
    [request] = [r for r in proxy_env.fake.requests if r.path == "/openai/v1/responses"]
    assert request.headers["authorization"] != f"Bearer {alice_key}"
    [row] = proxy_env.usage_rows(1)
    assert (row.model, row.endpoint, row.streamed, row.outcome) == ("gpt-5", "responses", True, Outcome.ok)
    assert row.client.startswith("codex_exec/") and row.session_id
