"""Replies with tool calls as the providers send them (field order, ids, argument pieces, usage), each with one
harmless call (`ls -la`) and one a policy blocks (`rm -rf /`), plus text before the calls."""

from __future__ import annotations

from typing import Any

import orjson

SAFE_ARGUMENTS = '{"command": "ls -la"}'
DANGEROUS_ARGUMENTS = '{"command": "rm -rf /"}'
LEAD_TEXT = "Let me look at the files."


def sse(data: dict[str, Any] | str, event: str | None = None) -> bytes:
    payload = data.encode() if isinstance(data, str) else orjson.dumps(data)
    return (f"event: {event}\n".encode() if event else b"") + b"data: " + payload + b"\n\n"


def pieces(arguments: str) -> list[str]:
    """Arguments cut the way models stream them: a few characters at a time."""
    return [arguments[start : start + 7] for start in range(0, len(arguments), 7)]


# -- Anthropic Messages -----------------------------------------------------------------------------------------

ANTHROPIC_USAGE = {"input_tokens": 812, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 4096}


def anthropic_stream(calls: list[tuple[str, str]]) -> bytes:
    def event(data: dict[str, Any]) -> bytes:
        return sse(data, data["type"])

    message = {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**ANTHROPIC_USAGE, "output_tokens": 1, "service_tier": "standard"},
    }
    out = [
        event({"type": "message_start", "message": message}),
        event({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        event({"type": "ping"}),
        event({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": LEAD_TEXT}}),
        event({"type": "content_block_stop", "index": 0}),
    ]
    for index, (name, arguments) in enumerate(calls, start=1):
        block = {"type": "tool_use", "id": f"toolu_01A09q90qw90lq917835l{index}", "name": name, "input": {}}
        out.append(event({"type": "content_block_start", "index": index, "content_block": block}))
        for piece in ["", *pieces(arguments)]:
            delta = {"type": "input_json_delta", "partial_json": piece}
            out.append(event({"type": "content_block_delta", "index": index, "delta": delta}))
        out.append(event({"type": "content_block_stop", "index": index}))
    usage = {**ANTHROPIC_USAGE, "output_tokens": 89}
    delta = {"stop_reason": "tool_use", "stop_sequence": None}
    out.append(event({"type": "message_delta", "delta": delta, "usage": usage}))
    out.append(event({"type": "message_stop"}))
    return b"".join(out)


def anthropic_message(calls: list[tuple[str, str]]) -> bytes:
    content: list[dict[str, Any]] = [{"type": "text", "text": LEAD_TEXT}]
    for index, (name, arguments) in enumerate(calls, start=1):
        block_id = f"toolu_01A09q90qw90lq917835l{index}"
        content.append({"type": "tool_use", "id": block_id, "name": name, "input": orjson.loads(arguments)})
    return orjson.dumps(
        {
            "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5-20250929",
            "content": content,
            "stop_reason": "tool_use",
            "stop_sequence": None,
            "usage": {**ANTHROPIC_USAGE, "output_tokens": 89, "service_tier": "standard"},
        }
    )


# -- OpenAI Chat Completions ------------------------------------------------------------------------------------

CHAT_USAGE = {
    "prompt_tokens": 140,
    "completion_tokens": 46,
    "total_tokens": 186,
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
}


def chat_stream(calls: list[tuple[str, str]], *, include_usage: bool = True) -> bytes:
    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        body: dict[str, Any] = {
            "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
            "object": "chat.completion.chunk",
            "created": 1741570283,
            "model": "gpt-4.1-2025-04-14",
            "service_tier": "default",
            "system_fingerprint": "fp_b705f0c291",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        }
        if include_usage:
            body["usage"] = None
        return sse(body)

    out = [chunk({"role": "assistant", "content": "", "refusal": None}), chunk({"content": LEAD_TEXT})]
    for index, (name, arguments) in enumerate(calls):
        function = {"name": name, "arguments": ""}
        call = {"index": index, "id": f"call_DdmO9pD3xa9XTPNJ32zg2hc{index}", "type": "function", "function": function}
        out.append(chunk({"tool_calls": [call]}))
        for piece in pieces(arguments):
            out.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
    out.append(chunk({}, "tool_calls"))
    if include_usage:
        last = orjson.loads(chunk({})[len(b"data: ") :])
        out.append(sse({**last, "choices": [], "usage": CHAT_USAGE}))
    out.append(sse("[DONE]"))
    return b"".join(out)


def chat_completion(calls: list[tuple[str, str]]) -> bytes:
    tool_calls = [
        {"id": f"call_DdmO9pD3xa9XTPNJ32zg2hc{index}", "type": "function", "function": {"name": n, "arguments": a}}
        for index, (n, a) in enumerate(calls)
    ]
    message = {"role": "assistant", "content": LEAD_TEXT, "tool_calls": tool_calls, "refusal": None, "annotations": []}
    return orjson.dumps(
        {
            "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
            "object": "chat.completion",
            "created": 1741570283,
            "model": "gpt-4.1-2025-04-14",
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "tool_calls"}],
            "usage": CHAT_USAGE,
            "service_tier": "default",
            "system_fingerprint": "fp_b705f0c291",
        }
    )


# -- OpenAI Responses -------------------------------------------------------------------------------------------

RESPONSES_USAGE = {
    "input_tokens": 2012,
    "input_tokens_details": {"cached_tokens": 1920},
    "output_tokens": 118,
    "output_tokens_details": {"reasoning_tokens": 64},
    "total_tokens": 2130,
}
_REASONING = {
    "id": "rs_68af4030592c81938ec0a5fbab4a3e9f",
    "type": "reasoning",
    "summary": [],
    "encrypted_content": "gAAA",
}


def _response(status: str, output: list[dict[str, Any]], usage: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": "resp_68af4030111c8193a7a8b6b3d1e4a5ff",
        "object": "response",
        "created_at": 1756315696,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": "You are Codex.",
        "max_output_tokens": None,
        "model": "gpt-5-codex",
        "output": output,
        "parallel_tool_calls": False,
        "previous_response_id": None,
        "reasoning": {"effort": "medium", "summary": "auto"},
        "store": False,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": usage,
        "user": None,
        "metadata": {},
    }


def _call_item(index: int, name: str, arguments: str, status: str) -> dict[str, Any]:
    return {
        "id": f"fc_68af40315e44819391ab6c1e3c2f7b8{index}",
        "type": "function_call",
        "status": status,
        "arguments": arguments,
        "call_id": f"call_Zr1kq3ORhhBdXzqSMOwiM4i{index}",
        "name": name,
    }


def responses_stream(calls: list[tuple[str, str]]) -> bytes:
    steps: list[dict[str, Any]] = [
        {"type": "response.created", "response": _response("in_progress", [], None)},
        {"type": "response.in_progress", "response": _response("in_progress", [], None)},
        {"type": "response.output_item.added", "output_index": 0, "item": {**_REASONING, "summary": []}},
        {"type": "response.output_item.done", "output_index": 0, "item": _REASONING},
    ]
    items = [_REASONING]
    for index, (name, arguments) in enumerate(calls, start=1):
        item = _call_item(index, name, arguments, "completed")
        at = {"item_id": item["id"], "output_index": index}
        steps.append(
            {
                "type": "response.output_item.added",
                "output_index": index,
                "item": _call_item(index, name, "", "in_progress"),
            }
        )
        for piece in pieces(arguments):
            steps.append({"type": "response.function_call_arguments.delta", **at, "delta": piece})
        steps.append({"type": "response.function_call_arguments.done", **at, "arguments": arguments})
        steps.append({"type": "response.output_item.done", "output_index": index, "item": item})
        items.append(item)
    steps.append({"type": "response.completed", "response": _response("completed", items, RESPONSES_USAGE)})
    return b"".join(
        sse({"type": step["type"], "sequence_number": number, **step}, step["type"])
        for number, step in enumerate(steps)
    )


def responses_document(calls: list[tuple[str, str]]) -> bytes:
    items = [_REASONING] + [_call_item(i, n, a, "completed") for i, (n, a) in enumerate(calls, start=1)]
    return orjson.dumps(_response("completed", items, RESPONSES_USAGE))
