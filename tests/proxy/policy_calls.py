"""Calls through a live gateway with message policies, by the real SDKs, in each endpoint's format.

`ask` sends one request (the user's text, optionally a tool result and a system prompt) to Anthropic messages,
OpenAI chat completions or OpenAI responses, streamed or not, through the SDK's own high-level helpers (their
stream accumulators refuse an inconsistent stream), and returns what the SDK read plus the response headers
(captured by an httpx event hook, since the streaming helpers do not expose them).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import anthropic
import httpx2
import openai
import orjson
from openai.types.chat import ChatCompletion
from sqlmodel import Session, col, select

from gateway_api.db.models import MessagePolicyViolation, UsageRecord
from tests.proxy.conftest import SONNET, ProxyEnv

Format = Literal["messages", "chat", "responses"]
FORMATS: tuple[Format, ...] = ("messages", "chat", "responses")
MODELS: dict[Format, str] = {"messages": SONNET, "chat": "gpt-5", "responses": "gpt-5"}
JUDGE_SYSTEM_MARK = "You are the message policy judge"
# The tool call every tool-result request answers (the same id in each format's history).
CALL_ID = "call_fake01"


@dataclass
class Reply:
    text: str  # the reply's text, all parts joined
    headers: httpx2.Headers
    finish: str | None  # stop_reason / finish_reason / status
    tool_calls: list[str] = field(default_factory=list)  # names of the tool calls the client received


@dataclass
class Clients:
    """SDK clients for one key; `heard` keeps the headers of every response they got."""

    env: ProxyEnv
    key: str
    heard: list[httpx2.Headers] = field(default_factory=list)

    def _http(self) -> httpx2.Client:
        def hear(response: httpx2.Response) -> None:
            self.heard.append(response.headers)

        return httpx2.Client(event_hooks={"response": [hear]}, timeout=30)

    def anthropic(self) -> anthropic.Anthropic:
        return anthropic.Anthropic(
            base_url=self.env.anthropic_url, api_key=self.key, max_retries=0, http_client=self._http()
        )

    def openai(self) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.env.openai_url, api_key=self.key, max_retries=0, http_client=self._http())


def ask(
    clients: Clients,
    fmt: Format,
    stream: bool,
    text: str,
    *,
    tool_result: str | None = None,
    system: str | None = None,
) -> Reply:
    """One call in `fmt`: `text` as the user's turn, or (with `tool_result`) `text` as the turn that made the model
    call a tool and `tool_result` as what the tool returned."""
    if fmt == "messages":
        return _messages(clients, stream, text, tool_result, system)
    if fmt == "chat":
        return _chat(clients, stream, text, tool_result, system)
    return _responses(clients, stream, text, tool_result, system)


def _messages(clients: Clients, stream: bool, text: str, tool_result: str | None, system: str | None) -> Reply:
    messages: list[Any] = [{"role": "user", "content": text}]
    if tool_result is not None:
        use = {"type": "tool_use", "id": CALL_ID, "name": "bash", "input": {"command": "cat notes"}}
        result = {"type": "tool_result", "tool_use_id": CALL_ID, "content": tool_result}
        messages += [{"role": "assistant", "content": [use]}, {"role": "user", "content": [result]}]
    extra: dict[str, Any] = {} if system is None else {"system": system}
    client = clients.anthropic()
    if stream:
        with client.messages.stream(model=SONNET, max_tokens=50, messages=messages, **extra) as events:
            message = events.get_final_message()
    else:
        message = client.messages.create(model=SONNET, max_tokens=50, messages=messages, **extra)
    said = "".join(block.text for block in message.content if block.type == "text")
    calls = [block.name for block in message.content if block.type == "tool_use"]
    return Reply(said, clients.heard[-1], message.stop_reason, calls)


def _chat(clients: Clients, stream: bool, text: str, tool_result: str | None, system: str | None) -> Reply:
    messages: list[Any] = [] if system is None else [{"role": "system", "content": system}]
    messages.append({"role": "user", "content": text})
    if tool_result is not None:
        call = {"id": CALL_ID, "type": "function", "function": {"name": "bash", "arguments": '{"command":"cat"}'}}
        messages += [
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": CALL_ID, "content": tool_result},
        ]
    client = clients.openai()
    completion: ChatCompletion
    if stream:
        with client.chat.completions.stream(model="gpt-5", messages=messages) as events:
            completion = events.get_final_completion()
    else:
        completion = client.chat.completions.create(model="gpt-5", messages=messages)
    choice = completion.choices[0]
    calls = [call.function.name for call in choice.message.tool_calls or [] if call.type == "function"]
    return Reply(choice.message.content or "", clients.heard[-1], choice.finish_reason, calls)


def _responses(clients: Clients, stream: bool, text: str, tool_result: str | None, system: str | None) -> Reply:
    items: list[Any] = [{"role": "user", "content": text}]
    if tool_result is not None:
        items += [
            {"type": "function_call", "call_id": CALL_ID, "name": "bash", "arguments": '{"command":"cat"}'},
            {"type": "function_call_output", "call_id": CALL_ID, "output": tool_result},
        ]
    extra: dict[str, Any] = {} if system is None else {"instructions": system}
    client = clients.openai()
    if stream:
        with client.responses.stream(model="gpt-5", input=items, **extra) as events:
            response = events.get_final_response()
    else:
        response = client.responses.create(model="gpt-5", input=items, **extra)
    calls = [item.name for item in response.output if item.type == "function_call"]
    return Reply(response.output_text, clients.heard[-1], response.status, calls)


def upstream_texts(env: ProxyEnv) -> list[str]:
    """Every upstream request body of proxied calls (the judge's excluded), as text."""
    return [r.body.decode() for r in env.fake.requests if JUDGE_SYSTEM_MARK.encode() not in r.body]


def judge_requests(env: ProxyEnv) -> list[dict[str, Any]]:
    return [r.json() for r in env.fake.requests if JUDGE_SYSTEM_MARK.encode() in r.body]


def verdicts(decide: Callable[[str], str | None]) -> Callable[[Any], str | None]:
    """A fake-upstream `reply_for` that answers judge requests with `decide(judged user turn)` and every other
    request with the fake's normal reply."""

    def reply_for(body: Any) -> str | None:
        if not isinstance(body, dict):
            return None
        if JUDGE_SYSTEM_MARK in str(body.get("system", "")):  # an Anthropic judge model
            return decide(body["messages"][0]["content"])
        messages = body.get("messages")
        if isinstance(messages, list) and messages and JUDGE_SYSTEM_MARK in str(messages[0].get("content", "")):
            return decide(messages[1]["content"])  # an OpenAI one: its system message first
        return None

    return reply_for


def verdict(violation: bool, explanation: str) -> str:
    return orjson.dumps({"violation": violation, "explanation": explanation}).decode()


def violations(env: ProxyEnv, count: int, timeout: float = 10.0) -> list[MessagePolicyViolation]:
    """Wait until exactly `count` violations are recorded (and no more arrive shortly after)."""
    deadline = time.monotonic() + timeout
    while len(rows := _violation_rows(env)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # one more flush: an extra violation would show up now
    rows = _violation_rows(env)
    assert len(rows) == count, f"expected {count} violations, found {[(v.policy_name, v.scope) for v in rows]}"
    return rows


def _violation_rows(env: ProxyEnv) -> list[MessagePolicyViolation]:
    with Session(env.engine) as session:
        return list(session.exec(select(MessagePolicyViolation).order_by(col(MessagePolicyViolation.id))))


def judge_rows(env: ProxyEnv, count: int, timeout: float = 10.0) -> list[UsageRecord]:
    """Wait until exactly `count` usage rows of judge calls are written (the usage writer batches them)."""
    deadline = time.monotonic() + timeout
    while len(rows := _judge_rows(env)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(rows) == count, f"expected {count} judge rows, found {len(rows)}"
    return rows


def _judge_rows(env: ProxyEnv) -> list[UsageRecord]:
    with Session(env.engine) as session:
        wanted = col(UsageRecord.endpoint) == "message_policy_judge"
        return list(session.exec(select(UsageRecord).where(wanted).order_by(col(UsageRecord.id))))
