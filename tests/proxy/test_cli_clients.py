"""The real Claude Code and Codex CLIs (installed from npm into .tools by `make test`) through a live gateway."""

from __future__ import annotations

from pathlib import Path

from gateway_api.db.models import Outcome
from tests.proxy.cli_env import claude_env, cli, codex_env, run
from tests.proxy.conftest import SONNET, ProxyEnv

REPLY = "Hello from the fake upstream, one word at a time."


def test_claude_code_print_mode(proxy_env: ProxyEnv, alice_key: str, tmp_path: Path) -> None:
    claude = cli("claude")
    env = claude_env(proxy_env, alice_key, tmp_path)

    result = run([str(claude), "-p", "say hi", "--model", SONNET], env, tmp_path)

    assert REPLY in result.stdout
    inference = [r for r in proxy_env.fake.requests if r.path == "/anthropic/v1/messages"]
    assert inference, "Claude Code made no inference call through the gateway"
    assert all(r.headers["x-api-key"] != alice_key for r in proxy_env.fake.requests)
    rows = proxy_env.usage_rows(len(inference))
    assert all(row.outcome == Outcome.ok and row.client.startswith("claude-cli/") for row in rows)
    assert any(row.model == SONNET and row.streamed and row.session_id for row in rows)


def test_codex_exec(proxy_env: ProxyEnv, alice_key: str, tmp_path: Path) -> None:
    codex = cli("codex")
    env = codex_env(proxy_env, alice_key, tmp_path)
    workdir = tmp_path / "work"
    workdir.mkdir()

    result = run([str(codex), "exec", "--skip-git-repo-check", "say hi"], env, workdir)

    assert REPLY in result.stdout
    [request] = [r for r in proxy_env.fake.requests if r.path == "/openai/v1/responses"]
    assert request.headers["authorization"] != f"Bearer {alice_key}"
    [row] = proxy_env.usage_rows(1)
    assert (row.model, row.endpoint, row.streamed, row.outcome) == ("gpt-5", "responses", True, Outcome.ok)
    assert row.client.startswith("codex_exec/") and row.session_id
