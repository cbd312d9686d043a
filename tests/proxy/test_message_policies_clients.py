"""Message policies on the requests real clients send (captured Claude Code and Codex requests, shared/fixtures):
a Claude Code request's system blocks and newest user text are judged once and its resend not at all, a secret
typed into it reaches the upstream redacted and nothing else changes, and a Codex request with a blocked word gets
the streamed Responses answer Codex shows."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway_api.core.settings import Settings
from tests.proxy.conftest import ProxyEnv
from tests.proxy.policy_calls import judge_requests, upstream_texts, verdict, verdicts, violations
from tests.proxy.policy_env import policy_env
from tests.support.fakes.upstream import FakeUpstream

FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures"
POLICIES = [
    {
        "name": "no-cloud-keys",
        "subjects": ["*"],
        "scope": ["user_messages", "tool_results"],
        "action": "redact",
        "rule": {"pattern": "AKIA[0-9A-Z]{16}"},
    },
    {
        "name": "block-word",
        "subjects": ["*"],
        "scope": ["user_messages"],
        "action": "block",
        "rule": {"pattern": "forbidden-word"},
    },
    {
        "name": "no-medical-advice",
        "subjects": ["*"],
        "scope": ["user_messages"],
        "action": "block",
        "rule": {"judge": "Block requests for a medical diagnosis."},
    },
]


def _capture(file_name: str, path: str) -> dict[str, Any]:
    source = FIXTURES / file_name
    if not source.is_file():
        pytest.skip(f"captured client requests not found in {FIXTURES.resolve()}")
    for line in source.read_text().splitlines():
        capture = json.loads(line)
        if capture["method"] == "POST" and capture["path"] == path:
            return dict(capture)
    raise AssertionError(f"no POST {path} in {file_name}")


@pytest.fixture
def env(settings: Settings, fake_upstream: FakeUpstream, tmp_path: Path) -> Iterator[ProxyEnv]:
    for live in policy_env(settings, fake_upstream, tmp_path, POLICIES):
        live.fake.configure(reply_for=verdicts(lambda _: verdict(False, "Not medical.")))
        yield live


def _replay(env: ProxyEnv, provider: str, capture: dict[str, Any], body: dict[str, Any], key: str) -> httpx.Response:
    url = f"{env.live.url}/api/llm-proxy/{provider}{capture['path']}"
    if capture["query"]:
        url += "?" + capture["query"]
    headers = {name: value for name, value in capture["headers"].items() if name not in ("host", "content-length")}
    if "x-api-key" in headers:
        headers["x-api-key"] = key
    if "authorization" in headers:
        headers["authorization"] = f"Bearer {key}"
    content = json.dumps(body, ensure_ascii=False).encode()
    return httpx.post(url, headers=headers, content=content, timeout=30)


def _last_user_texts(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The text parts of a request's newest user message (Anthropic blocks or Responses input_text parts)."""
    messages = body["messages"] if "messages" in body else body["input"]
    newest = [m for m in messages if m.get("role") == "user"][-1]
    return [part for part in newest["content"] if part.get("type") in {"text", "input_text"}]


def test_a_claude_code_request_is_judged_once_and_forwarded_as_sent(env: ProxyEnv) -> None:
    capture = _capture("claude-code-requests.jsonl", "/v1/messages")
    key = env.issue_key()

    first = _replay(env, "anthropic", capture, capture["body"], key)
    judged = len(judge_requests(env))
    second = _replay(env, "anthropic", capture, capture["body"], key)

    assert first.status_code == second.status_code == 200
    assert judged >= 2  # its system blocks and its user text, each judged once
    assert len(judge_requests(env)) == judged  # the resend is answered from the verdict cache
    system_texts = {block["text"] for block in capture["body"]["system"]}
    judged_texts = {
        request["messages"][0]["content"].split("\n", 1)[1].rsplit("\n", 2)[0] for request in judge_requests(env)
    }
    assert system_texts <= judged_texts
    for sent in upstream_texts(env):
        assert json.loads(sent) == capture["body"]  # nothing matched: the same document upstream
    violations(env, 0)


def test_a_secret_typed_into_claude_code_reaches_the_upstream_redacted(env: ProxyEnv) -> None:
    capture = _capture("claude-code-requests.jsonl", "/v1/messages")
    body = copy.deepcopy(capture["body"])
    part = _last_user_texts(body)[-1]
    part["text"] += " my key is AKIAABCDEFGHIJKLMNOP"

    response = _replay(env, "anthropic", capture, body, env.issue_key())

    assert response.status_code == 200
    (sent,) = upstream_texts(env)
    part["text"] = part["text"].replace("AKIAABCDEFGHIJKLMNOP", "[REDACTED:no-cloud-keys]")
    assert json.loads(sent) == body
    (violation,) = violations(env, 1)
    assert violation.policy_name == "no-cloud-keys"


def test_a_codex_request_with_a_blocked_word_gets_the_streamed_answer_codex_shows(env: ProxyEnv) -> None:
    capture = _capture("codex-requests.jsonl", "/v1/responses")
    body = copy.deepcopy(capture["body"])
    _last_user_texts(body)[-1]["text"] += " and the forbidden-word"

    response = _replay(env, "openai", capture, body, env.issue_key())

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["x-gateway-policy-violation"] == "block-word"
    events = [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")]
    assert events[0]["type"] == "response.created" and events[-1]["type"] == "response.completed"
    done = [event["text"] for event in events if event["type"] == "response.output_text.done"]
    assert len(done) == 1 and 'message policy "block-word"' in done[0]
    assert upstream_texts(env) == [] and judge_requests(env) == []  # a pattern block spends nothing on judging
