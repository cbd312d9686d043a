"""Replies in which the model calls a tool (the fake upstream's `tool_call` behaviour): a short text, then one
tool call, in each provider's format, whole or streamed, the way the providers send them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from tests.support.fakes import provider_bodies as bodies
from tests.support.fakes.provider_bodies import FakeUsage, sse_event


@dataclass(frozen=True, slots=True)
class ToolCallSpec:
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)

    @property
    def arguments_json(self) -> str:
        return orjson.dumps(self.arguments).decode()

    def argument_pieces(self) -> list[str]:
        """The arguments JSON cut in three, as providers stream partial JSON."""
        text = self.arguments_json
        third = max(1, len(text) // 3)
        return [text[:third], text[third : 2 * third], text[2 * third :]]


# Where each format carries the tools a request offers and the results a client sends back from them:
# Anthropic `tools[].name` and `tool_result` blocks, Responses `tools[].name` and `*_call_output` items,
# Chat Completions `tools[].function.name` and `tool` role messages.
_RESULT_ITEM_TYPES = frozenset({"tool_result", "function_call_output", "custom_tool_call_output"})


def call_until_result(call: ToolCallSpec) -> Callable[[Any], ToolCallSpec | None]:
    """A `tool_call_for` that makes `call` while the request offers a tool of its name and carries no tool result
    yet, and answers with text otherwise: an agent's first turn runs the tool, its next one ends the task, and its
    side requests (titles, summaries: no tools offered) get text."""

    def choose(request_json: Any) -> ToolCallSpec | None:
        if not isinstance(request_json, dict):
            return None
        if call.name not in _offered_tools(request_json) or _has_tool_result(request_json):
            return None
        return call

    return choose


def _offered_tools(request_json: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for tool in request_json.get("tools") or []:
        if isinstance(tool, dict):
            function = tool.get("function")
            name = function.get("name") if isinstance(function, dict) else tool.get("name")
            if isinstance(name, str):
                names.add(name)
    return names


def _has_tool_result(request_json: dict[str, Any]) -> bool:
    turns = request_json.get("messages") or request_json.get("input") or []
    if not isinstance(turns, list):
        return False
    for turn in turns:
        if not isinstance(turn, dict):
            continue
        if turn.get("role") == "tool" or turn.get("type") in _RESULT_ITEM_TYPES:
            return True
        content = turn.get("content")
        if isinstance(content, list) and any(
            isinstance(part, dict) and part.get("type") in _RESULT_ITEM_TYPES for part in content
        ):
            return True
    return False


# -- Anthropic ---------------------------------------------------------------------------------------


def anthropic_tool_message(model: str, text: str, call: ToolCallSpec, usage: FakeUsage, call_id: str) -> dict[str, Any]:
    message = bodies.anthropic_message(model, text, usage)
    message["content"].append({"type": "tool_use", "id": call_id, "name": call.name, "input": call.arguments})
    message["stop_reason"] = "tool_use"
    return message


def anthropic_tool_stream(model: str, text: str, call: ToolCallSpec, usage: FakeUsage, call_id: str) -> list[bytes]:
    events = bodies.anthropic_stream(model, text, usage)
    closing = events[-2:]  # message_delta, message_stop
    tool = [
        _block(
            {"type": "content_block_start", "index": 1, "content_block": _tool_block(call, call_id)},
        ),
        *(
            _block(
                {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": p}}
            )
            for p in ["", *call.argument_pieces()]
        ),
        _block({"type": "content_block_stop", "index": 1}),
    ]
    delta = orjson.loads(closing[0].split(b"data: ", 1)[1])
    delta["delta"]["stop_reason"] = "tool_use"
    return [*events[:-2], *tool, sse_event(delta, "message_delta"), closing[1]]


def _tool_block(call: ToolCallSpec, call_id: str) -> dict[str, Any]:
    return {"type": "tool_use", "id": call_id, "name": call.name, "input": {}}


def _block(data: dict[str, Any]) -> bytes:
    return sse_event(data, str(data["type"]))


# -- OpenAI Chat Completions ---------------------------------------------------------------------------


def chat_tool_completion(model: str, text: str, call: ToolCallSpec, usage: FakeUsage, call_id: str) -> dict[str, Any]:
    completion = bodies.chat_completion(model, text, usage)
    choice = completion["choices"][0]
    choice["message"]["tool_calls"] = [
        {"id": call_id, "type": "function", "function": {"name": call.name, "arguments": call.arguments_json}}
    ]
    choice["finish_reason"] = "tool_calls"
    return completion


def chat_tool_stream(
    model: str, text: str, call: ToolCallSpec, usage: FakeUsage, call_id: str, *, include_usage: bool
) -> list[bytes]:
    events = bodies.chat_completion_stream(model, text, usage, include_usage=include_usage)
    chunks = [orjson.loads(event.split(b"data: ", 1)[1]) for event in events[:-1]]
    finish_at = next(i for i, chunk in enumerate(chunks) if chunk["choices"] and chunk["choices"][0]["finish_reason"])
    template = chunks[finish_at]

    def with_delta(delta: dict[str, Any], finish_reason: str | None) -> dict[str, Any]:
        chunk: dict[str, Any] = orjson.loads(orjson.dumps(template))
        chunk["choices"][0].update(delta=delta, finish_reason=finish_reason)
        return chunk

    first = {"index": 0, "id": call_id, "type": "function", "function": {"name": call.name, "arguments": ""}}
    tool_chunks = [with_delta({"tool_calls": [first]}, None)]
    tool_chunks += [
        with_delta({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}, None)
        for piece in call.argument_pieces()
    ]
    tool_chunks.append(with_delta({}, "tool_calls"))
    rebuilt = [*chunks[:finish_at], *tool_chunks, *chunks[finish_at + 1 :]]
    return [sse_event(chunk) for chunk in rebuilt] + [events[-1]]


# -- OpenAI Responses -------------------------------------------------------------------------------------


def _function_item(call: ToolCallSpec, call_id: str, item_id: str, status: str, arguments: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "function_call",
        "status": status,
        "arguments": arguments,
        "call_id": call_id,
        "name": call.name,
    }


def response_with_tool(model: str, text: str, call: ToolCallSpec, usage: FakeUsage, call_id: str) -> dict[str, Any]:
    response = bodies.openai_response(model, text, usage)
    response["output"].append(_function_item(call, call_id, f"fc_{call_id}", "completed", call.arguments_json))
    return response


def response_tool_stream(model: str, text: str, call: ToolCallSpec, usage: FakeUsage, call_id: str) -> list[bytes]:
    events = bodies.openai_response_stream(model, text, usage)
    steps = [orjson.loads(event.split(b"data: ", 1)[1]) for event in events]
    completed = steps.pop()
    index = len(completed["response"]["output"])
    item_id = f"fc_{call_id}"
    steps += [
        {
            "type": "response.output_item.added",
            "output_index": index,
            "item": _function_item(call, call_id, item_id, "in_progress", ""),
        },
        *(
            {"type": "response.function_call_arguments.delta", "item_id": item_id, "output_index": index, "delta": p}
            for p in call.argument_pieces()
        ),
        {
            "type": "response.function_call_arguments.done",
            "item_id": item_id,
            "output_index": index,
            "arguments": call.arguments_json,
        },
        {
            "type": "response.output_item.done",
            "output_index": index,
            "item": _function_item(call, call_id, item_id, "completed", call.arguments_json),
        },
    ]
    completed["response"]["output"].append(_function_item(call, call_id, item_id, "completed", call.arguments_json))
    steps.append(completed)
    return [sse_event({**step, "sequence_number": number}, step["type"]) for number, step in enumerate(steps)]
