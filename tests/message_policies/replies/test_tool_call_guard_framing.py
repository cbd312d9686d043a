"""The guard's reading of a stream: events split at every byte, CRLF and CR line endings, several data lines,
unreadable content and the bound on what it holds."""

from __future__ import annotations

from typing import Any

import anthropic
import openai
import orjson
import pytest

from gateway_api.message_policies.replies.tool_call_guard import ToolCallGuard
from gateway_api.message_policies.rules import Violation
from gateway_api.message_policies.verdicts import ToolCallText
from gateway_api.providers.spec import EndpointKind
from tests.message_policies.replies import tool_call_replies as replies
from tests.message_policies.replies.guard_runs import CASES, DANGEROUS_FIRST, STREAM_CASES, GuardRun, run_guard
from tests.support.reply_server import ReplyServer

pytestmark = pytest.mark.asyncio

# Where each stream's first tool-call event is (a byte inside it).
CALL_MARKERS = {
    "anthropic-stream": b'"type":"tool_use"',
    "chat-stream": b'"tool_calls":[',
    "responses-stream": b'"type":"function_call"',
}
MESSAGES: Any = [{"role": "user", "content": "Clean up my disk."}]


def _first_call_event(name: str, body: bytes, line_end: bytes = b"\n") -> tuple[int, int]:
    """The start and end of the stream's first tool-call event."""
    marker = body.index(CALL_MARKERS[name])
    blank = line_end * 2
    start = body.rfind(blank, 0, marker) + len(blank)
    return start, body.index(blank, marker) + len(blank)


@pytest.mark.parametrize("line_end", [b"\n", b"\r\n", b"\r"], ids=["lf", "crlf", "cr"])
@pytest.mark.parametrize("name", STREAM_CASES)
async def test_every_split_gives_the_same_reply(name: str, line_end: bytes) -> None:
    case = CASES[name]
    body = case.build(DANGEROUS_FIRST).replace(b"\n", line_end)
    whole = await run_guard(case, [body])
    assert b"rm -rf" not in whole.output
    call_start, _ = _first_call_event(name, body, line_end)
    assert whole.relayed == [body[:call_start]]  # everything before the first call went out at once
    for split in range(len(body) + 1):
        run = await run_guard(case, [body[:split], body[split:]])
        assert run.output == whole.output, split
        relayed = b"".join(run.relayed)
        assert body[:call_start].startswith(relayed), split
        if split > call_start:
            assert relayed == body[:call_start], split


@pytest.mark.parametrize("name", STREAM_CASES)
async def test_byte_by_byte(name: str) -> None:
    case = CASES[name]
    body = case.build(DANGEROUS_FIRST)
    whole = await run_guard(case, [body])
    run = await run_guard(case, [body[index : index + 1] for index in range(len(body))])
    assert run.output == whole.output
    assert len(run.judge.batches) == 1


async def test_crlf_stream_rewritten_is_read_by_the_sdk(reply_server: ReplyServer) -> None:
    case = CASES["anthropic-stream"]
    run = await run_guard(case, [case.build(DANGEROUS_FIRST).replace(b"\n", b"\r\n")])
    _serve(reply_server, run)
    message = _anthropic_final(reply_server)
    assert [block.type for block in message.content] == ["text", "text", "tool_use"]
    assert message.content[2].input == {"command": "ls -la"}


async def test_data_over_several_lines_is_read_as_one_event(reply_server: ReplyServer) -> None:
    case = CASES["anthropic-stream"]
    body = case.build(DANGEROUS_FIRST).replace(b'data: {"type"', b'data: {\ndata: "type"')
    run = await run_guard(case, [body])
    assert [orjson.loads(call.arguments)["command"] for call in run.judge.batches[0]] == ["rm -rf /", "ls -la"]
    assert b"rm -rf" not in run.output
    _serve(reply_server, run)
    assert [block.type for block in _anthropic_final(reply_server).content] == ["text", "text", "tool_use"]


@pytest.mark.parametrize("name", STREAM_CASES)
async def test_unreadable_held_content_blocks_every_call_unjudged(reply_server: ReplyServer, name: str) -> None:
    case = CASES[name]
    body = case.build(DANGEROUS_FIRST)
    _, call_end = _first_call_event(name, body)
    garbled = body[:call_end] + b'data: {"type": "content_block_delta", "index": 1, "delta": \n\n' + body[call_end:]
    run = await run_guard(case, [garbled])
    assert run.guard.unreadable and run.judge.batches == [] and run.guard.violations == []
    assert b"rm -rf" not in run.output and b"ls -la" not in run.output and b'"delta": \n' not in run.output
    assert run.output.count(b"could not be read") >= 2
    _serve(reply_server, run)
    if name == "anthropic-stream":
        message = _anthropic_final(reply_server)
        assert [block.type for block in message.content] == ["text", "text", "text"]
        assert message.stop_reason == "end_turn"
    elif name == "chat-stream":
        with _openai(reply_server).chat.completions.stream(model="m", messages=MESSAGES) as stream:
            choice = stream.get_final_completion().choices[0]
        assert not choice.message.tool_calls and choice.finish_reason == "stop"
    else:
        with _openai(reply_server).responses.stream(model="m", input="x") as stream:
            response = stream.get_final_response()
        assert [item.type for item in response.output] == ["reasoning", "message", "message"]


async def test_an_event_that_is_not_json_before_any_call_passes() -> None:
    case = CASES["anthropic-stream"]
    body = case.build([])
    garbled = b": keep-alive\n\ndata: {not json\n\n" + body
    run = await run_guard(case, [garbled])
    assert run.relayed == [garbled] and run.finished == b""


@pytest.mark.parametrize("name", ["anthropic-json", "chat-json", "responses-json"])
async def test_an_unreadable_body_becomes_a_reply_saying_so(name: str) -> None:
    case = CASES[name]
    body = case.build(DANGEROUS_FIRST)
    run = await run_guard(case, [body[: len(body) // 2]])
    assert run.guard.unreadable and run.judge.batches == []
    assert b"rm -rf" not in run.output and b"could not be read" in run.output
    orjson.loads(run.output)


async def test_too_much_held_ends_an_anthropic_stream_with_its_error_event(reply_server: ReplyServer) -> None:
    case = CASES["anthropic-stream"]
    body = case.build(DANGEROUS_FIRST)
    run = await run_guard(case, [body[:1500], body[1500:]], max_held_bytes=600)
    assert run.guard.cut and run.judge.batches == [] and b"rm -rf" not in run.output
    _serve(reply_server, run)
    with pytest.raises(anthropic.APIError, match="larger than the 600 bytes"):
        _anthropic_final(reply_server)


async def test_too_much_held_ends_a_chat_stream_with_an_error_chunk(reply_server: ReplyServer) -> None:
    case = CASES["chat-stream"]
    run = await run_guard(case, [case.build(DANGEROUS_FIRST)], max_held_bytes=600)
    assert run.guard.cut and b"rm -rf" not in run.output
    _serve(reply_server, run)
    with pytest.raises(openai.APIError, match="larger than the 600 bytes"):
        list(_openai(reply_server).chat.completions.create(model="m", messages=MESSAGES, stream=True))


async def test_too_much_held_ends_a_responses_stream_with_an_error_event(reply_server: ReplyServer) -> None:
    case = CASES["responses-stream"]
    run = await run_guard(case, [case.build(DANGEROUS_FIRST)], max_held_bytes=600)
    assert run.guard.cut and b"rm -rf" not in run.output
    _serve(reply_server, run)
    events = list(_openai(reply_server).responses.create(model="m", input="x", stream=True))
    assert events[-1].type == "error" and "larger than the 600 bytes" in events[-1].message
    assert [event.sequence_number for event in events] == list(range(len(events)))


async def test_one_unfinished_event_past_the_bound_cuts_too() -> None:
    case = CASES["anthropic-stream"]
    guard = ToolCallGuard("anthropic", EndpointKind.MESSAGES, True, _judge_nothing, 1000)
    relayed = guard.feed(b"event: content_block_delta\ndata: " + b"x" * 2000)
    assert guard.cut and b'"type":"error"' in relayed
    assert guard.feed(case.build(DANGEROUS_FIRST)) == b"" and await guard.finish() == b""


async def test_a_body_past_the_bound_becomes_a_reply_saying_so(reply_server: ReplyServer) -> None:
    case = CASES["anthropic-json"]
    run = await run_guard(case, [case.build(DANGEROUS_FIRST)], max_held_bytes=100)
    assert run.guard.cut and run.judge.batches == []
    reply_server.answer(200, [(b"content-type", b"application/json")], run.output)
    message = _anthropic(reply_server).messages.create(model="m", max_tokens=10, messages=MESSAGES)
    assert "larger than the 100 bytes" in message.content[0].text  # type: ignore[union-attr]


async def test_a_judge_answering_for_the_wrong_number_of_calls_is_an_error() -> None:
    guard = ToolCallGuard("anthropic", EndpointKind.MESSAGES, True, _judge_nothing, 1 << 20)
    guard.feed(replies.anthropic_stream(DANGEROUS_FIRST))
    with pytest.raises(ValueError, match="answered for 0 tool calls, not 2"):
        await guard.finish()
    with pytest.raises(RuntimeError):
        guard.feed(b"data: {}\n\n")


async def test_responses_custom_tool_calls_are_guarded_too() -> None:
    case = CASES["responses-json"]
    document = orjson.loads(case.build([]))
    patch = {"id": "ctc_1", "type": "custom_tool_call", "call_id": "call_1", "name": "apply_patch", "input": "rm -rf /"}
    document["output"].append(patch)
    run = await run_guard(case, [orjson.dumps(document)])
    assert run.judge.batches == [[ToolCallText("apply_patch", "rm -rf /")]]
    output = orjson.loads(run.output)["output"]
    assert [item["type"] for item in output] == ["reasoning", "message"] and output[1]["id"] == "msg_gwctc_1"


async def _judge_nothing(calls: list[ToolCallText]) -> list[list[Violation]]:
    return []


def _serve(server: ReplyServer, run: GuardRun) -> None:
    server.answer(200, [(b"content-type", b"text/event-stream")], *run.relayed, run.finished)


def _anthropic(server: ReplyServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.url, api_key="k", max_retries=0)


def _openai(server: ReplyServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="k", max_retries=0)


def _anthropic_final(server: ReplyServer) -> Any:
    with _anthropic(server).messages.stream(model="m", max_tokens=10, messages=MESSAGES) as stream:
        return stream.get_final_message()


async def test_a_call_without_arguments_is_judged_as_an_empty_object() -> None:
    case = CASES["anthropic-stream"]
    run = await run_guard(case, [case.build([("TaskList", "")])])
    assert run.judge.batches == [[ToolCallText("TaskList", "{}")]]


async def test_chat_choices_are_rewritten_each_on_its_own(reply_server: ReplyServer) -> None:
    def chunk(choice: int, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        body = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4.1"}
        choices = [{"index": choice, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]
        return replies.sse({**body, "choices": choices})

    def call(index: int, arguments: str) -> dict[str, Any]:
        return {
            "index": index,
            "id": f"call_{index}",
            "type": "function",
            "function": {"name": "Bash", "arguments": arguments},
        }

    body = b"".join(
        [
            chunk(0, {"role": "assistant", "content": None, "tool_calls": [call(0, replies.DANGEROUS_ARGUMENTS)]}),
            chunk(1, {"role": "assistant", "content": None, "tool_calls": [call(0, replies.SAFE_ARGUMENTS)]}),
            chunk(0, {"function_call": {"name": "legacy", "arguments": '{"x": "rm -rf ~"}'}}),
            chunk(0, {}, "tool_calls"),
            chunk(1, {}, "tool_calls"),
            replies.sse("[DONE]"),
        ]
    )
    run = await run_guard(CASES["chat-stream"], [body])
    assert [call.name for call in run.judge.batches[0]] == ["Bash", "Bash", "legacy"]
    assert b"rm -rf" not in run.output
    _serve(reply_server, run)
    with _openai(reply_server).chat.completions.stream(model="m", messages=MESSAGES, n=2) as stream:
        first, second = stream.get_final_completion().choices
    assert first.finish_reason == "stop" and not first.message.tool_calls and not first.message.function_call
    assert first.message.content is not None and first.message.content.count("Blocked by the gateway") == 2
    assert second.finish_reason == "tool_calls" and second.message.tool_calls is not None
    assert second.message.tool_calls[0].function.arguments == replies.SAFE_ARGUMENTS


async def test_chat_legacy_function_call_in_a_whole_reply() -> None:
    document = orjson.loads(replies.chat_completion([]))
    message = {"role": "assistant", "content": None, "function_call": {"name": "sh", "arguments": "rm -rf /"}}
    document["choices"][0].update(message=message, finish_reason="function_call")
    run = await run_guard(CASES["chat-json"], [orjson.dumps(document)])
    [choice] = orjson.loads(run.output)["choices"]
    assert "function_call" not in choice["message"] and choice["finish_reason"] == "stop"
    assert "Blocked by the gateway" in choice["message"]["content"]
