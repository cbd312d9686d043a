"""The fake upstream's tool-call replies are what the official SDKs read as a tool call, whole and streamed."""

from __future__ import annotations

import json

import anthropic
import openai

from tests.support.fakes.tool_bodies import ToolCallSpec, call_until_result
from tests.support.fakes.upstream import FakeUpstream

CALL = ToolCallSpec("run_shell", {"command": "ls -la /tmp", "timeout": 5})
MESSAGES = [{"role": "user", "content": "list files"}]


def test_anthropic_tool_use(fake_upstream: FakeUpstream) -> None:
    fake_upstream.configure(tool_call=CALL, reply_text="Let me look.")
    client = anthropic.Anthropic(base_url=fake_upstream.anthropic_base_url, api_key="sk-ant-test")

    whole = client.messages.create(model="claude-haiku-4-5", max_tokens=50, messages=MESSAGES)  # type: ignore[arg-type]
    with client.messages.stream(model="claude-haiku-4-5", max_tokens=50, messages=MESSAGES) as stream:  # type: ignore[arg-type]
        streamed = stream.get_final_message()

    for message in (whole, streamed):
        assert message.stop_reason == "tool_use"
        text, tool = message.content
        assert text.type == "text" and text.text == "Let me look."
        assert tool.type == "tool_use" and tool.name == "run_shell" and tool.input == CALL.arguments


def test_chat_completion_tool_calls(fake_upstream: FakeUpstream) -> None:
    fake_upstream.configure(tool_call=CALL)
    client = openai.OpenAI(base_url=f"{fake_upstream.openai_base_url}/v1", api_key="sk-test")

    whole = client.chat.completions.create(model="gpt-5", messages=MESSAGES)  # type: ignore[arg-type]
    with client.chat.completions.stream(model="gpt-5", messages=MESSAGES) as stream:  # type: ignore[arg-type]
        streamed = stream.get_final_completion()

    for completion in (whole, streamed):
        choice = completion.choices[0]
        assert choice.finish_reason == "tool_calls"
        (tool,) = choice.message.tool_calls or []
        assert tool.function.name == "run_shell"  # type: ignore[union-attr]
        assert json.loads(tool.function.arguments) == CALL.arguments  # type: ignore[union-attr]


def test_responses_function_call(fake_upstream: FakeUpstream) -> None:
    fake_upstream.configure(tool_call=CALL)
    client = openai.OpenAI(base_url=f"{fake_upstream.openai_base_url}/v1", api_key="sk-test")

    whole = client.responses.create(model="gpt-5", input="list files")
    with client.responses.stream(model="gpt-5", input="list files") as stream:
        streamed = stream.get_final_response()

    for response in (whole, streamed):
        (call,) = [item for item in response.output if item.type == "function_call"]
        assert call.name == "run_shell" and json.loads(call.arguments) == CALL.arguments


def test_reply_for_chooses_the_text_by_request(fake_upstream: FakeUpstream) -> None:
    fake_upstream.configure(reply_for=lambda body: "yes" if "judge me" in json.dumps(body) else None)
    client = anthropic.Anthropic(base_url=fake_upstream.anthropic_base_url, api_key="sk-ant-test")

    def ask(text: str) -> str:
        reply = client.messages.create(
            model="claude-haiku-4-5", max_tokens=5, messages=[{"role": "user", "content": text}]
        )
        return reply.content[0].text  # type: ignore[union-attr]

    assert ask("judge me") == "yes"
    assert ask("other") == "Hello from the fake upstream, one word at a time."


def test_call_until_result_calls_the_tool_once_then_answers_with_text(fake_upstream: FakeUpstream) -> None:
    fake_upstream.configure(tool_call_for=call_until_result(CALL), tool_call=ToolCallSpec("ignored"))
    client = anthropic.Anthropic(base_url=fake_upstream.anthropic_base_url, api_key="sk-ant-test")
    tool = {"name": "run_shell", "input_schema": {"type": "object"}}

    first = client.messages.create(model="claude-haiku-4-5", max_tokens=50, messages=MESSAGES, tools=[tool])  # type: ignore[arg-type, list-item]
    answered = [
        *MESSAGES,
        {"role": "assistant", "content": [block.model_dump() for block in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_fake01", "content": "a b"}]},
    ]
    second = client.messages.create(model="claude-haiku-4-5", max_tokens=50, messages=answered, tools=[tool])  # type: ignore[arg-type, list-item]
    untooled = client.messages.create(model="claude-haiku-4-5", max_tokens=50, messages=MESSAGES)  # type: ignore[arg-type]

    assert first.stop_reason == "tool_use" and first.content[-1].type == "tool_use"
    assert first.content[-1].name == "run_shell"
    for reply in (second, untooled):
        assert reply.stop_reason == "end_turn" and [block.type for block in reply.content] == ["text"]


def test_call_until_result_reads_responses_and_chat_shapes(fake_upstream: FakeUpstream) -> None:
    fake_upstream.configure(tool_call_for=call_until_result(CALL))
    client = openai.OpenAI(base_url=f"{fake_upstream.openai_base_url}/v1", api_key="sk-test")
    function = {"type": "function", "name": "run_shell", "parameters": {"type": "object"}}
    chat_tool = {"type": "function", "function": {"name": "run_shell", "parameters": {"type": "object"}}}

    first = client.responses.create(model="gpt-5", input="list files", tools=[function])  # type: ignore[list-item]
    output = {"type": "function_call_output", "call_id": "call_fake01", "output": "a b"}
    second = client.responses.create(model="gpt-5", input=[*first.output, output], tools=[function])  # type: ignore[list-item]
    chat_first = client.chat.completions.create(model="gpt-5", messages=MESSAGES, tools=[chat_tool])  # type: ignore[arg-type, list-item]
    chat_answered = [*MESSAGES, {"role": "tool", "tool_call_id": "call_fake01", "content": "a b"}]
    chat_second = client.chat.completions.create(model="gpt-5", messages=chat_answered, tools=[chat_tool])  # type: ignore[arg-type, list-item]

    assert [item.type for item in first.output][-1] == "function_call"
    assert all(item.type != "function_call" for item in second.output)
    assert chat_first.choices[0].finish_reason == "tool_calls"
    assert chat_second.choices[0].finish_reason == "stop" and not chat_second.choices[0].message.tool_calls
