"""A streamed reply's server-sent events turned back into the message they spelled: the text and tool-call
arguments of Anthropic Messages, OpenAI Chat Completions and Responses streams. Best effort: events it does not
know are skipped, and the events themselves are always stored as they came. Done when a stored document is read
(`with_reassembly`): rebuilding it on every streamed call cost about a fifth of the call's CPU (bench/README.md)."""

from __future__ import annotations

from typing import Any

import orjson


def reassembled(stream: str) -> dict[str, Any] | None:
    """{"text": ..., "tool_calls": [{"name", "arguments"}]} or None when nothing was recognised."""
    text: list[str] = []
    tools: dict[Any, dict[str, Any]] = {}
    recognised = False
    for line in stream.splitlines():
        if not line.startswith("data:"):
            continue
        payload = line[5:].strip()
        if not payload or payload == "[DONE]":
            continue
        try:
            event = orjson.loads(payload)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(event, dict):
            continue
        recognised |= _anthropic(event, text, tools) or _chat(event, text, tools) or _responses(event, text, tools)
    if not recognised:
        return None
    return {"text": "".join(text), "tool_calls": list(tools.values())}


def _tool(tools: dict[Any, dict[str, Any]], index: Any) -> dict[str, Any]:
    return tools.setdefault(index, {"name": "", "arguments": ""})


def _anthropic(event: dict[str, Any], text: list[str], tools: dict[Any, dict[str, Any]]) -> bool:
    kind = event.get("type")
    if kind == "content_block_start":
        block = event.get("content_block") or {}
        if isinstance(block, dict) and block.get("type") == "tool_use":
            _tool(tools, event.get("index"))["name"] = str(block.get("name", ""))
        return True
    if kind == "content_block_delta":
        delta = event.get("delta") or {}
        if isinstance(delta, dict):
            if delta.get("type") == "text_delta":
                text.append(str(delta.get("text", "")))
            elif delta.get("type") == "input_json_delta":
                _tool(tools, event.get("index"))["arguments"] += str(delta.get("partial_json", ""))
        return True
    return kind in {"message_start", "message_delta", "message_stop", "content_block_stop", "ping"}


def _chat(event: dict[str, Any], text: list[str], tools: dict[Any, dict[str, Any]]) -> bool:
    choices = event.get("choices")
    if not isinstance(choices, list):
        return False
    for choice in choices:
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if not isinstance(delta, dict):
            continue
        if isinstance(delta.get("content"), str):
            text.append(delta["content"])
        for call in delta.get("tool_calls") or []:
            if isinstance(call, dict):
                tool = _tool(tools, ("chat", call.get("index")))
                function = call.get("function") or {}
                if isinstance(function, dict):
                    tool["name"] += str(function.get("name") or "")
                    tool["arguments"] += str(function.get("arguments") or "")
    return True


def _responses(event: dict[str, Any], text: list[str], tools: dict[Any, dict[str, Any]]) -> bool:
    kind = event.get("type")
    if not isinstance(kind, str) or not kind.startswith("response."):
        return False
    if kind == "response.output_text.delta":
        text.append(str(event.get("delta", "")))
    elif kind == "response.output_item.added":
        item = event.get("item") or {}
        if isinstance(item, dict) and item.get("type") == "function_call":
            _tool(tools, ("responses", event.get("output_index")))["name"] = str(item.get("name", ""))
    elif kind == "response.function_call_arguments.delta":
        _tool(tools, ("responses", event.get("output_index")))["arguments"] += str(event.get("delta", ""))
    return True


def with_reassembly(document: dict[str, Any]) -> dict[str, Any]:
    """A stored exchange as read: a streamed reply's body gains `events_reassembled` beside its events."""
    response = document.get("response")
    if not isinstance(response, dict):
        return document
    body = response.get("body")
    streamed = response.get("streamed")
    if streamed is None and isinstance(body, dict):  # documents stored before the flag: the reply's content type
        headers = response.get("headers") or []
        streamed = any(
            isinstance(h, list) and len(h) == 2 and h[0] == "content-type" and "event-stream" in str(h[1])
            for h in headers
        )
    if streamed and isinstance(body, dict) and isinstance(body.get("text"), str) and "events_reassembled" not in body:
        body["events_reassembled"] = reassembled(body["text"])
    return document
