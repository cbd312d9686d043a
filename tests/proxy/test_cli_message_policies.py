"""The real Claude Code and Codex CLIs against message policies: a blocked prompt shows the policy's explanation
and never reaches the upstream; a blocked tool call is never run (and, without the policy, the same reply's tool
call is run: the control that shows the CLIs were allowed to)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from gateway_api.core.settings import Settings
from gateway_api.db.models import MessagePolicyViolation
from tests.proxy.cli_env import claude_env, cli, codex_env, run
from tests.proxy.conftest import SONNET, ProxyEnv
from tests.proxy.policy_env import policy_env
from tests.support.fakes.tool_bodies import ToolCallSpec, call_until_result
from tests.support.fakes.upstream import FakeUpstream

BLOCKED_PROMPT = "what is the launch code?"
MARKER = "pwned"
POLICIES: list[dict[str, Any]] = [
    {
        "name": "no-launch-codes",
        "subjects": ["*"],
        "scope": ["user_messages"],
        "action": "block",
        "rule": {"pattern": "launch code"},
    },
    {
        "name": "no-pwn",
        "subjects": ["*"],
        "scope": ["tool_calls"],
        "action": "block",
        "rule": {"pattern": f"touch .*{MARKER}"},
    },
]


@dataclass(frozen=True, slots=True)
class Agent:
    """One CLI: how it is run on a prompt with its shell tool allowed, and the shell call its model would make."""

    name: str
    inference_path: str
    environment: Callable[[ProxyEnv, str, Path], dict[str, str]]
    arguments: Callable[[str], list[str]]
    shell_call: Callable[[str], ToolCallSpec]

    def run(self, env: ProxyEnv, prompt: str, home: Path, workdir: Path) -> str:
        """What the CLI printed as its answer (stdout; progress and warnings go to stderr)."""
        key = env.issue_key()
        command = [str(cli(self.name)), *self.arguments(prompt)]
        return run(command, self.environment(env, key, home), workdir).stdout


CLAUDE = Agent(
    name="claude",
    inference_path="/anthropic/v1/messages",
    environment=claude_env,
    # Running as root, Claude Code refuses --dangerously-skip-permissions; allowing Bash is what a user does anyway.
    arguments=lambda prompt: ["-p", prompt, "--model", SONNET, "--allowedTools", "Bash"],
    shell_call=lambda command: ToolCallSpec("Bash", {"command": command, "description": "Create a file"}),
)
CODEX = Agent(
    name="codex",
    inference_path="/openai/v1/responses",
    environment=codex_env,
    # No sandbox: the control test must not depend on the host offering Codex's (Landlock / seccomp) sandbox.
    arguments=lambda prompt: [
        "exec",
        "--skip-git-repo-check",
        "--dangerously-bypass-approvals-and-sandbox",
        prompt,
    ],
    shell_call=lambda command: ToolCallSpec("exec_command", {"cmd": command}),
)
AGENTS = [pytest.param(CLAUDE, id="claude-code"), pytest.param(CODEX, id="codex")]


@pytest.fixture
def policed(settings: Settings, fake_upstream: FakeUpstream, tmp_path: Path) -> Iterator[ProxyEnv]:
    yield from policy_env(settings, fake_upstream, tmp_path, POLICIES)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


def _inference(env: ProxyEnv, agent: Agent) -> list[Any]:
    return [request.json() for request in env.fake.requests if request.path == agent.inference_path]


@pytest.mark.parametrize("agent", AGENTS)
def test_a_blocked_prompt_shows_the_explanation_and_is_never_forwarded(
    agent: Agent, policed: ProxyEnv, tmp_path: Path, workdir: Path
) -> None:
    output = agent.run(policed, BLOCKED_PROMPT, tmp_path, workdir)

    assert 'Blocked by the gateway\'s message policy "no-launch-codes"' in output, output
    assert _inference(policed, agent) == []
    assert all(b"launch code" not in request.body for request in policed.fake.requests)
    (row,) = policed.refused_rows(1)
    assert row.refusal_reason and "no-launch-codes" in row.refusal_reason


def _violations(env: ProxyEnv) -> list[MessagePolicyViolation]:
    """The recorded violations, once the recorder (a queue drained off the response path) has written one."""
    deadline = time.monotonic() + 10
    while True:
        with Session(env.engine) as session:
            rows = list(session.exec(select(MessagePolicyViolation).order_by(MessagePolicyViolation.id)))  # type: ignore[arg-type]
        if rows or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


def _shell_reply(env: ProxyEnv, agent: Agent, workdir: Path) -> Path:
    marker = workdir / MARKER
    env.fake.configure(tool_call_for=call_until_result(agent.shell_call(f"touch {marker}")), reply_text="Done.")
    return marker


@pytest.mark.parametrize("agent", AGENTS)
def test_a_blocked_tool_call_is_never_run(agent: Agent, policed: ProxyEnv, tmp_path: Path, workdir: Path) -> None:
    marker = _shell_reply(policed, agent, workdir)

    output = agent.run(policed, "create the marker file", tmp_path, workdir)

    assert not marker.exists()
    assert 'Blocked by the gateway\'s message policy "no-pwn"' in output, output
    # The upstream did answer with the call (its tool offered, no result yet), and the CLI never got it to answer.
    (request,) = _inference(policed, agent)
    assert call_until_result(agent.shell_call(f"touch {marker}"))(request) is not None
    (row,) = policed.usage_rows(1)
    (violation,) = _violations(policed)
    assert (violation.policy_name, violation.scope, violation.call_id) == ("no-pwn", "tool_calls", row.call_id)


@pytest.mark.parametrize("agent", AGENTS)
def test_without_the_policy_the_same_tool_call_runs(
    agent: Agent, proxy_env: ProxyEnv, tmp_path: Path, workdir: Path
) -> None:
    marker = _shell_reply(proxy_env, agent, workdir)

    output = agent.run(proxy_env, "create the marker file", tmp_path, workdir)

    assert marker.exists()
    choose = call_until_result(agent.shell_call(f"touch {marker}"))
    first, second = _inference(proxy_env, agent)  # answered with the call, then its result sent back
    assert choose(first) is not None and choose(second) is None
    assert "Done." in output and "Blocked" not in output
