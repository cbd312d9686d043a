"""A whole (not streamed) reply's tool calls read and rewritten: a blocked call becomes a text block (Anthropic),
content of its choice (Chat Completions) or a message item (Responses) at the same place; the stop reason says
the turn ended when no call is left. The caller serialises the document again only when something changed."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import orjson

from gateway_api.message_policies.replies.blocked_reply import message_item
from gateway_api.message_policies.replies.held_calls import CLIENT_CALL_ITEMS, FoundCalls, item_call
from gateway_api.message_policies.verdicts import ToolCallText
from gateway_api.providers.spec import EndpointKind


def document_calls(kind: EndpointKind, document: Any) -> FoundCalls:
    found = FoundCalls()
    if not isinstance(document, dict):
        found.unreadable = True
        return found
    if kind is EndpointKind.MESSAGES:
        for position, block in enumerate(_list(document.get("content"))):
            if _dict(block).get("type") == "tool_use":
                arguments = orjson.dumps(block.get("input") or {}).decode()
                found.calls[position] = ToolCallText(str(block.get("name", "")), arguments)
    elif kind is EndpointKind.CHAT_COMPLETIONS:
        for choice_position, choice in enumerate(_list(document.get("choices"))):
            message = _dict(_dict(choice).get("message"))
            for position, call in enumerate(map(_dict, _list(message.get("tool_calls")))):
                body = _dict(call.get("function") or call.get("custom"))
                raw = body.get("arguments") if "arguments" in body else body.get("input")
                found.calls[(choice_position, position)] = ToolCallText(str(body.get("name", "")), str(raw or ""))
            legacy = _dict(message.get("function_call"))
            if legacy:
                text = ToolCallText(str(legacy.get("name", "")), str(legacy.get("arguments") or ""))
                found.calls[(choice_position, "function_call")] = text
    elif kind is EndpointKind.RESPONSES:
        for position, item in enumerate(_list(document.get("output"))):
            if _dict(item).get("type") in CLIENT_CALL_ITEMS:
                found.calls[position] = item_call(item)
    else:
        raise ValueError(f"no tool calls to guard on the {kind} endpoint")
    return found


def rewrite_document(
    kind: EndpointKind, document: dict[str, Any], blocked: Mapping[Hashable, str], calls_remain: bool
) -> dict[str, Any]:
    if kind is EndpointKind.MESSAGES:
        content = [
            {"type": "text", "text": blocked[position]} if position in blocked else block
            for position, block in enumerate(_list(document.get("content")))
        ]
        stop_reason = document.get("stop_reason")
        if stop_reason == "tool_use" and not calls_remain:
            stop_reason = "end_turn"
        return {**document, "content": content, "stop_reason": stop_reason}
    if kind is EndpointKind.CHAT_COMPLETIONS:
        choices = [
            _chat_choice(position, choice, blocked) for position, choice in enumerate(_list(document.get("choices")))
        ]
        return {**document, "choices": choices}
    output = [
        message_item("msg_gw" + str(_dict(item).get("id") or position), blocked[position])
        if position in blocked
        else item
        for position, item in enumerate(_list(document.get("output")))
    ]
    return {**document, "output": output}


def _chat_choice(position: int, choice: Any, blocked: Mapping[Hashable, str]) -> Any:
    if not isinstance(choice, dict):
        return choice
    message = dict(_dict(_dict(choice).get("message")))
    notices = [
        blocked[(position, index)]
        for index in range(len(_list(message.get("tool_calls"))))
        if (position, index) in blocked
    ]
    calls = [call for index, call in enumerate(_list(message.get("tool_calls"))) if (position, index) not in blocked]
    if (position, "function_call") in blocked:
        notices.append(blocked[(position, "function_call")])
        message.pop("function_call", None)
    if not notices:
        return choice
    if calls:
        message["tool_calls"] = calls
    else:
        message.pop("tool_calls", None)
    earlier = message.get("content")
    text = "\n\n".join(notices)
    message["content"] = f"{earlier}\n\n{text}" if isinstance(earlier, str) and earlier else text
    finish_reason = choice.get("finish_reason")
    if finish_reason in {"tool_calls", "function_call"} and not calls and "function_call" not in message:
        finish_reason = "stop"
    return {**choice, "message": message, "finish_reason": finish_reason}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
