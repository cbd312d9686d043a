"""Guarded replies of every provider and endpoint, streamed and not, served from a loopback server and read by the
real SDKs: blocked calls never reach the client, allowed ones arrive intact, indexes, stop reasons and usage hold."""

from __future__ import annotations

from typing import Any

import anthropic
import openai
import orjson
import pytest

from gateway_api.message_policies.rules import PolicyAction
from tests.message_policies.replies import tool_call_replies as replies
from tests.message_policies.replies.guard_runs import (
    BLOCK_EXPLANATION,
    BLOCKING_POLICY,
    CASES,
    DANGEROUS_FIRST,
    ONLY_DANGEROUS,
    ONLY_SAFE,
    SAFE_FIRST,
    GuardRun,
    run_guard,
)
from tests.support.reply_server import ReplyServer

MESSAGES: Any = [{"role": "user", "content": "Clean up my disk."}]
pytestmark = pytest.mark.asyncio

NOTICE = f'Blocked by the gateway\'s message policy "{BLOCKING_POLICY}": {BLOCK_EXPLANATION}'


def _serve(server: ReplyServer, run: GuardRun, streamed: bool) -> None:
    content_type = b"text/event-stream; charset=utf-8" if streamed else b"application/json"
    server.answer(200, [(b"content-type", content_type)], *run.relayed, run.finished)


def _anthropic(server: ReplyServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.url, api_key="k", max_retries=0)


def _openai(server: ReplyServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="k", max_retries=0)


def _assert_blocked_call_gone(run: GuardRun, calls: list[tuple[str, str]]) -> None:
    assert b"rm -rf" not in run.output
    assert len(run.judge.batches) == 1
    assert [orjson.loads(call.arguments) for call in run.judge.batches[0]] == [orjson.loads(a) for _, a in calls]
    actions = sorted(violation.action for violation in run.guard.violations)
    assert actions == sorted([PolicyAction.block] + [PolicyAction.monitor] * (len(calls) - 1))


def _anthropic_message(server: ReplyServer, streamed: bool) -> Any:
    client = _anthropic(server)
    if not streamed:
        return client.messages.create(model="gateway-test-model", max_tokens=100, messages=MESSAGES)
    with client.messages.stream(model="gateway-test-model", max_tokens=100, messages=MESSAGES) as stream:
        return stream.get_final_message()


@pytest.mark.parametrize("streamed", [True, False])
@pytest.mark.parametrize("calls", [DANGEROUS_FIRST, SAFE_FIRST], ids=["dangerous-first", "safe-first"])
async def test_anthropic_keeps_the_allowed_call(reply_server: ReplyServer, streamed: bool, calls: Any) -> None:
    case = CASES["anthropic-stream" if streamed else "anthropic-json"]
    run = await run_guard(case, [case.build(calls)])
    _serve(reply_server, run, streamed)
    message = _anthropic_message(reply_server, streamed)
    _assert_blocked_call_gone(run, calls)
    blocked_at = 1 + calls.index(("Bash", replies.DANGEROUS_ARGUMENTS))
    kinds = ["text", "tool_use", "tool_use"]
    kinds[blocked_at] = "text"
    assert [block.type for block in message.content] == kinds
    assert NOTICE in message.content[blocked_at].text
    assert '"Bash"' in message.content[blocked_at].text
    [tool_use] = [block for block in message.content if block.type == "tool_use"]
    assert tool_use.input == {"command": "ls -la"}
    assert message.stop_reason == "tool_use"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (812, 89)
    assert message.usage.cache_read_input_tokens == 4096


@pytest.mark.parametrize("streamed", [True, False])
async def test_anthropic_without_a_call_left_ends_the_turn(reply_server: ReplyServer, streamed: bool) -> None:
    case = CASES["anthropic-stream" if streamed else "anthropic-json"]
    run = await run_guard(case, [case.build(ONLY_DANGEROUS)])
    _serve(reply_server, run, streamed)
    message = _anthropic_message(reply_server, streamed)
    assert [block.type for block in message.content] == ["text", "text"]
    assert message.content[0].text == replies.LEAD_TEXT
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens == 89


def _chat_completion(server: ReplyServer, streamed: bool) -> Any:
    client = _openai(server)
    if not streamed:
        return client.chat.completions.create(model="gpt-4.1", messages=MESSAGES)
    with client.chat.completions.stream(model="gpt-4.1", messages=MESSAGES) as stream:
        return stream.get_final_completion()


@pytest.mark.parametrize("streamed", [True, False])
@pytest.mark.parametrize("calls", [DANGEROUS_FIRST, SAFE_FIRST], ids=["dangerous-first", "safe-first"])
async def test_chat_keeps_the_allowed_call(reply_server: ReplyServer, streamed: bool, calls: Any) -> None:
    case = CASES["chat-stream" if streamed else "chat-json"]
    run = await run_guard(case, [case.build(calls)])
    _serve(reply_server, run, streamed)
    completion = _chat_completion(reply_server, streamed)
    _assert_blocked_call_gone(run, calls)
    choice = completion.choices[0]
    [call] = choice.message.tool_calls
    assert call.function.name == "Bash" and call.function.arguments == replies.SAFE_ARGUMENTS
    assert choice.message.content.startswith(replies.LEAD_TEXT + "\n\n")
    assert NOTICE in choice.message.content
    assert choice.finish_reason == "tool_calls"
    assert completion.usage.total_tokens == 186
    if streamed:  # the call left is renumbered: indexes stay dense from 0
        raw = list(_openai(reply_server).chat.completions.create(model="gpt-4.1", messages=MESSAGES, stream=True))
        indexes = {call.index for chunk in raw for choice in chunk.choices for call in choice.delta.tool_calls or []}
        assert indexes == {0}


@pytest.mark.parametrize("streamed", [True, False])
async def test_chat_without_a_call_left_stops(reply_server: ReplyServer, streamed: bool) -> None:
    case = CASES["chat-stream" if streamed else "chat-json"]
    run = await run_guard(case, [case.build(ONLY_DANGEROUS)])
    _serve(reply_server, run, streamed)
    choice = _chat_completion(reply_server, streamed).choices[0]
    assert not choice.message.tool_calls
    assert choice.finish_reason == "stop"
    assert NOTICE in choice.message.content


def _response(server: ReplyServer, streamed: bool) -> Any:
    client = _openai(server)
    if not streamed:
        return client.responses.create(model="gpt-5-codex", input="Clean up my disk.")
    with client.responses.stream(model="gpt-5-codex", input="Clean up my disk.") as stream:
        return stream.get_final_response()


@pytest.mark.parametrize("streamed", [True, False])
@pytest.mark.parametrize("calls", [DANGEROUS_FIRST, SAFE_FIRST], ids=["dangerous-first", "safe-first"])
async def test_responses_keeps_the_allowed_call(reply_server: ReplyServer, streamed: bool, calls: Any) -> None:
    case = CASES["responses-stream" if streamed else "responses-json"]
    run = await run_guard(case, [case.build(calls)])
    _serve(reply_server, run, streamed)
    response = _response(reply_server, streamed)
    _assert_blocked_call_gone(run, calls)
    blocked_at = 1 + calls.index(("Bash", replies.DANGEROUS_ARGUMENTS))
    kinds = ["reasoning", "function_call", "function_call"]
    kinds[blocked_at] = "message"
    assert [item.type for item in response.output] == kinds
    assert NOTICE in response.output_text
    [call] = [item for item in response.output if item.type == "function_call"]
    assert call.arguments == replies.SAFE_ARGUMENTS
    assert response.usage.total_tokens == 2130 and response.status == "completed"
    if streamed:
        events = list(_openai(reply_server).responses.create(model="gpt-5-codex", input="x", stream=True))
        assert [event.sequence_number for event in events] == list(range(len(events)))
        added = [event.output_index for event in events if event.type == "response.output_item.added"]
        assert added == [0, 1, 2]
        assert events[-1].type == "response.completed"


@pytest.mark.parametrize("name", list(CASES))
async def test_a_reply_without_a_blocked_call_leaves_unchanged(name: str) -> None:
    case = CASES[name]
    body = case.build(ONLY_SAFE)
    run = await run_guard(case, [body])
    assert run.output == body
    assert [violation.policy_name for violation in run.guard.violations] == ["watch-listings"]
    assert [call.name for call in run.judge.batches[0]] == ["Bash", "Read"]


@pytest.mark.parametrize("name", list(CASES))
async def test_a_reply_without_calls_is_not_judged(name: str) -> None:
    case = CASES[name]
    body = case.build([])
    run = await run_guard(case, [body])
    assert run.output == body
    assert run.judge.batches == []
    if case.streamed:  # nothing was held: every event went out as it came
        assert run.relayed == [body] and run.finished == b""
