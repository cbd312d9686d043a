"""Running the real Claude Code and Codex CLIs (installed from npm into .tools by `make test`) against a live
gateway: an isolated home, the gateway as their provider, a bounded run."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.proxy.conftest import ProxyEnv

TOOLS_BIN = Path(__file__).resolve().parents[2] / ".tools" / "node_modules" / ".bin"
CLI_TIMEOUT = 120


def cli(name: str) -> Path:
    path = TOOLS_BIN / name
    if not path.exists():
        pytest.skip(f"{path} is missing: run `npm install --prefix .tools @anthropic-ai/claude-code @openai/codex`")
    return path


def isolated_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean environment: a temp HOME, no proxy or provider variables inherited from the developer."""
    keep = ("PATH", "LANG", "TERM", "TMPDIR")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), NO_COLOR="1", **extra)
    return env


def claude_env(proxy_env: ProxyEnv, key: str, home: Path) -> dict[str, str]:
    """Claude Code with the gateway as its Anthropic API and nothing sent anywhere else."""
    return isolated_env(
        home,
        ANTHROPIC_BASE_URL=proxy_env.anthropic_url,
        ANTHROPIC_API_KEY=key,
        ANTHROPIC_DEFAULT_HAIKU_MODEL="claude-haiku-4-5",
        ANTHROPIC_SMALL_FAST_MODEL="claude-haiku-4-5",
        DISABLE_TELEMETRY="1",
        DISABLE_ERROR_REPORTING="1",
        DISABLE_AUTOUPDATER="1",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
    )


def codex_env(proxy_env: ProxyEnv, key: str, home: Path) -> dict[str, str]:
    """Codex with the gateway as a Responses provider (no websockets, no retries) in a CODEX_HOME under `home`."""
    codex_home = home / "codex-home"
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
    return isolated_env(home, CODEX_HOME=str(codex_home), GATEWAY_API_KEY=key)


def run(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The CLI run to its end, which must be a clean exit."""
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
