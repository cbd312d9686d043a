"""The reply the gateway writes itself when a message policy blocks a request: nothing is forwarded, and the client
gets a well-formed, successful reply in the provider's own format (streamed when it asked for a stream) whose text
says which policy blocked it and why, so Claude Code, Codex and the SDKs show it like any answer. Usage is zero:
nothing was generated. Counting tokens has no answer to show, so it gets a 400 in the provider's error envelope.

The builders of the reply documents and events are also what the tool-call guard uses for the items it writes in
place of a blocked call (message_item) or of a reply it could not read (reply_document).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from gateway_api.message_policies.replies.notices import request_blocked_text
from gateway_api.message_policies.replies.sse_frames import event_bytes
from gateway_api.providers.names import ProviderName
from gateway_api.providers.spec import EndpointKind, error_body

POLICY_VIOLATION_HEADER = b"x-gateway-policy-violation"
JSON_CONTENT_TYPE = b"application/json"
SSE_CONTENT_TYPE = b"text/event-stream; charset=utf-8"

# Ids the gateway makes start like the provider's own and then say who made them.
ID_PREFIXES = {
    EndpointKind.MESSAGES: "msg_gw",
    EndpointKind.CHAT_COMPLETIONS: "chatcmpl-gw",
    EndpointKind.RESPONSES: "resp_gw",
}


@dataclass(frozen=True, slots=True)
class BlockedReply:
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes


def blocked_reply(
    provider: ProviderName,
    kind: EndpointKind,
    model: str,
    stream: bool,
    policy_name: str,
    explanation: str,
    *,
    include_usage: bool = False,
) -> BlockedReply:
    """`include_usage`: a streamed chat completion whose request set `stream_options.include_usage` gets the final
    usage chunk (without it, a chunk with no choices would break clients that read `choices[0]`)."""
    text = request_blocked_text(policy_name, explanation)
    violation = (POLICY_VIOLATION_HEADER, policy_header_value(policy_name))
    if kind is EndpointKind.COUNT_TOKENS:
        return BlockedReply(400, ((b"content-type", JSON_CONTENT_TYPE), violation), error_body(provider, 400, text))
    if stream:
        body = reply_events(kind, model, text, include_usage=include_usage)
        headers = ((b"content-type", SSE_CONTENT_TYPE), (b"cache-control", b"no-cache"), violation)
        return BlockedReply(200, headers, body)
    return BlockedReply(
        200, ((b"content-type", JSON_CONTENT_TYPE), violation), orjson.dumps(reply_document(kind, model, text))
    )


def policy_header_value(policy_name: str) -> bytes:
    """The name as a header value. The name rule (core/names.py) admits letters of any script, which a header
    cannot carry: bytes outside printable ASCII are percent-encoded (UTF-8), and `%` itself, which no name holds,
    so an ASCII name reads exactly as written."""
    out = bytearray()
    for byte in policy_name.encode():
        if 0x20 <= byte < 0x7F and byte != 0x25:
            out.append(byte)
        else:
            out += b"%%%02X" % byte
    return bytes(out)


def new_id(kind: EndpointKind) -> str:
    return ID_PREFIXES[kind] + uuid.uuid4().hex[:24]


def reply_document(kind: EndpointKind, model: str, text: str) -> dict[str, Any]:
    """A complete, finished reply saying `text`, as the endpoint's JSON answer."""
    if kind is EndpointKind.MESSAGES:
        return _anthropic_message(model, [{"type": "text", "text": text}], "end_turn")
    if kind is EndpointKind.CHAT_COMPLETIONS:
        message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None, "annotations": []}
        return {
            "id": new_id(kind),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
            "usage": _CHAT_USAGE,
        }
    if kind is EndpointKind.RESPONSES:
        return _response(new_id(kind), model, "completed", [message_item(_message_item_id(), text)])
    raise ValueError(f"no reply document for the {kind} endpoint")


def reply_events(kind: EndpointKind, model: str, text: str, *, include_usage: bool = False) -> bytes:
    """The same reply as the endpoint's stream of server-sent events."""
    if kind is EndpointKind.MESSAGES:
        return _anthropic_events(model, text)
    if kind is EndpointKind.CHAT_COMPLETIONS:
        return _chat_events(model, text, include_usage)
    if kind is EndpointKind.RESPONSES:
        return _responses_events(model, text)
    raise ValueError(f"no reply events for the {kind} endpoint")


def message_item(item_id: str, text: str) -> dict[str, Any]:
    """A finished Responses `message` output item saying `text`."""
    return {
        "id": item_id,
        "type": "message",
        "status": "completed",
        "role": "assistant",
        "content": [output_text_part(text)],
    }


def output_text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


# -- Anthropic Messages -----------------------------------------------------------------------------------------

_ANTHROPIC_USAGE = {
    "input_tokens": 0,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 0,
    "output_tokens": 0,
}


def _anthropic_message(model: str, content: list[dict[str, Any]], stop_reason: str | None) -> dict[str, Any]:
    return {
        "id": new_id(EndpointKind.MESSAGES),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": dict(_ANTHROPIC_USAGE),
    }


def _anthropic_events(model: str, text: str) -> bytes:
    def event(data: dict[str, Any]) -> bytes:
        return event_bytes(data, data["type"])

    return b"".join(
        (
            event({"type": "message_start", "message": _anthropic_message(model, [], None)}),
            event({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            event({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}),
            event({"type": "content_block_stop", "index": 0}),
            event(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": dict(_ANTHROPIC_USAGE),
                }
            ),
            event({"type": "message_stop"}),
        )
    )


# -- OpenAI Chat Completions ------------------------------------------------------------------------------------

_CHAT_USAGE = {
    "prompt_tokens": 0,
    "completion_tokens": 0,
    "total_tokens": 0,
    "prompt_tokens_details": {"cached_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0},
}


def _chat_events(model: str, text: str, include_usage: bool) -> bytes:
    completion_id = new_id(EndpointKind.CHAT_COMPLETIONS)
    created = int(time.time())

    def chunk(choices: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> bytes:
        body: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": choices,
        }
        if include_usage:
            body["usage"] = usage
        return event_bytes(body, None)

    def choice(delta: dict[str, Any], finish_reason: str | None) -> dict[str, Any]:
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}

    parts = [
        chunk([choice({"role": "assistant", "content": "", "refusal": None}, None)]),
        chunk([choice({"content": text}, None)]),
        chunk([choice({}, "stop")]),
    ]
    if include_usage:
        parts.append(chunk([], dict(_CHAT_USAGE)))
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


# -- OpenAI Responses -------------------------------------------------------------------------------------------


def _message_item_id() -> str:
    return "msg_gw" + uuid.uuid4().hex[:24]


def _response(response_id: str, model: str, status: str, output: list[dict[str, Any]]) -> dict[str, Any]:
    finished = status == "completed"
    return {
        "id": response_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": False,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": _RESPONSES_USAGE if finished else None,
        "user": None,
        "metadata": {},
    }


_RESPONSES_USAGE = {
    "input_tokens": 0,
    "input_tokens_details": {"cached_tokens": 0},
    "output_tokens": 0,
    "output_tokens_details": {"reasoning_tokens": 0},
    "total_tokens": 0,
}


def message_item_events(
    item_id: str, output_index: int, text: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The events of one Responses message item saying `text`: those that open it and those that fill and close it
    (without `sequence_number`, which the caller numbers)."""
    at = {"item_id": item_id, "output_index": output_index, "content_index": 0}
    opening = [
        {
            "type": "response.output_item.added",
            "output_index": output_index,
            "item": {**message_item(item_id, ""), "status": "in_progress", "content": []},
        },
        {"type": "response.content_part.added", **at, "part": output_text_part("")},
    ]
    closing = [
        {"type": "response.output_text.delta", **at, "delta": text, "logprobs": []},
        {"type": "response.output_text.done", **at, "text": text, "logprobs": []},
        {"type": "response.content_part.done", **at, "part": output_text_part(text)},
        {"type": "response.output_item.done", "output_index": output_index, "item": message_item(item_id, text)},
    ]
    return opening, closing


def _responses_events(model: str, text: str) -> bytes:
    response_id = new_id(EndpointKind.RESPONSES)
    item_id = _message_item_id()
    opening, closing = message_item_events(item_id, 0, text)
    in_progress = _response(response_id, model, "in_progress", [])
    steps = [
        {"type": "response.created", "response": in_progress},
        {"type": "response.in_progress", "response": in_progress},
        *opening,
        *closing,
        {
            "type": "response.completed",
            "response": _response(response_id, model, "completed", [message_item(item_id, text)]),
        },
    ]
    return b"".join(event_bytes({**step, "sequence_number": number}, step["type"]) for number, step in enumerate(steps))
