"""Realistic Anthropic and OpenAI response bodies and SSE streams, with exact token figures.

Shapes follow what the real APIs send (field order included: usage is serialised after the
content, the model before it). Used by the fake upstream and directly by parser tests.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import orjson

ANTHROPIC_MODELS = ("claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805", "claude-haiku-4-5")
OPENAI_MODELS = ("gpt-5", "gpt-5-mini", "gpt-4.1", "o4-mini")
CREATED_AT = 1_759_000_000

# Events a sloppy or broken upstream might interleave; a usage reader must ignore all of them.
MALFORMED_SSE_EVENTS: tuple[bytes, ...] = (
    b"data: {not json at all\n\n",
    b'data: {"usage": {"input_tokens": \n\n',
    b"data: [1, 2\n\n",
    b": a comment line\n\n",
    b"event: mystery\ndata: \x00\xff\xfe garbage bytes\n\n",
    b"retry: 1000\nid: 7\n\n",
    b'data: {"type":"message_delta","usage":"not an object"}\n\n',
)


@dataclass(slots=True)
class FakeUsage:
    """Token figures exactly as the provider puts them on the wire.

    input_tokens: Anthropic's uncached input; OpenAI's total input (cached included).
    cache_write_tokens: Anthropic only. reasoning_tokens: OpenAI only, part of output_tokens.
    """

    input_tokens: int = 25
    output_tokens: int = 12
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0


def dumps(data: Any, option: int = 0) -> bytes:
    """orjson, or the standard library for what orjson cannot write: an absurd upstream's integers beyond 64 bits."""
    try:
        return orjson.dumps(data, option=option)
    except TypeError:
        return json.dumps(data, indent=2 if option else None).encode()


def sse_event(data: dict[str, Any] | str, event: str | None = None) -> bytes:
    payload = data.encode() if isinstance(data, str) else dumps(data)
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + payload + b"\n\n"


def text_pieces(text: str) -> list[str]:
    return re.findall(r"\S+\s*|\s+", text) or [""]


def _id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}"


# -- Anthropic ---------------------------------------------------------------------------------


def _anthropic_usage(usage: FakeUsage, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_read_input_tokens": usage.cache_read_tokens,
        "cache_creation": {
            "ephemeral_5m_input_tokens": usage.cache_write_tokens,
            "ephemeral_1h_input_tokens": 0,
        },
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


def anthropic_message(model: str, text: str, usage: FakeUsage, *, thinking: bool = False) -> dict:
    content: list[dict[str, Any]] = []
    if thinking:
        content.append({"type": "thinking", "thinking": "Considering.", "signature": "c2ln"})
    content.append({"type": "text", "text": text})
    return {
        "id": _id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": _anthropic_usage(usage, usage.output_tokens),
    }


def anthropic_stream(model: str, text: str, usage: FakeUsage, *, thinking: bool = False) -> list[bytes]:
    message = anthropic_message(model, "", usage, thinking=thinking)
    message.update(content=[], stop_reason=None, usage=_anthropic_usage(usage, 1))
    events = [sse_event({"type": "message_start", "message": message}, "message_start")]
    index = 0
    if thinking:
        events += [
            _block_start(index, {"type": "thinking", "thinking": "", "signature": ""}),
            _block_delta(index, {"type": "thinking_delta", "thinking": "Considering."}),
            _block_delta(index, {"type": "signature_delta", "signature": "c2ln"}),
            _block_stop(index),
        ]
        index += 1
    events.append(_block_start(index, {"type": "text", "text": ""}))
    events.append(sse_event({"type": "ping"}, "ping"))
    events += [_block_delta(index, {"type": "text_delta", "text": piece}) for piece in text_pieces(text)]
    events.append(_block_stop(index))
    delta = {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {
            "input_tokens": usage.input_tokens,
            "cache_creation_input_tokens": usage.cache_write_tokens,
            "cache_read_input_tokens": usage.cache_read_tokens,
            "output_tokens": usage.output_tokens,
        },
    }
    events.append(sse_event(delta, "message_delta"))
    events.append(sse_event({"type": "message_stop"}, "message_stop"))
    return events


def _block_start(index: int, block: dict[str, Any]) -> bytes:
    return sse_event(
        {"type": "content_block_start", "index": index, "content_block": block},
        "content_block_start",
    )


def _block_delta(index: int, delta: dict[str, Any]) -> bytes:
    return sse_event({"type": "content_block_delta", "index": index, "delta": delta}, "content_block_delta")


def _block_stop(index: int) -> bytes:
    return sse_event({"type": "content_block_stop", "index": index}, "content_block_stop")


def anthropic_model(model_id: str, display_name: str | None = None) -> dict[str, Any]:
    return {
        "type": "model",
        "id": model_id,
        "display_name": display_name or model_id,
        "created_at": "2025-09-29T00:00:00Z",
    }


def anthropic_models(model_ids: list[str], display_names: dict[str, str] | None = None) -> dict[str, Any]:
    names = display_names or {}
    return {
        "data": [anthropic_model(model_id, names.get(model_id)) for model_id in model_ids],
        "has_more": False,
        "first_id": model_ids[0] if model_ids else None,
        "last_id": model_ids[-1] if model_ids else None,
    }


# -- OpenAI Responses ------------------------------------------------------------------------------


def _responses_usage(usage: FakeUsage) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {"cached_tokens": usage.cache_read_tokens},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.input_tokens + usage.output_tokens,
    }


def _reasoning_item(item_id: str) -> dict[str, Any]:
    return {"id": item_id, "type": "reasoning", "summary": [], "encrypted_content": "Z0FBQUFB"}


def _message_item(item_id: str, text: str, status: str = "completed") -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]
    return {
        "id": item_id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": content,
    }


def openai_response(
    model: str,
    text: str,
    usage: FakeUsage | None,
    *,
    status: str = "completed",
    output: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "id": _id("resp_"),
        "object": "response",
        "created_at": CREATED_AT,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "model": model,
        "output": output if output is not None else [_reasoning_item(_id("rs_")), _message_item(_id("msg_"), text)],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": "medium", "summary": None},
        "store": False,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": _responses_usage(usage) if usage is not None else None,
        "user": None,
        "metadata": {},
    }


def openai_response_stream(model: str, text: str, usage: FakeUsage) -> list[bytes]:
    reasoning_id, message_id = _id("rs_"), _id("msg_")
    in_progress = openai_response(model, "", None, status="in_progress", output=[])
    part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
    steps: list[dict[str, Any]] = [
        {"type": "response.created", "response": in_progress},
        {"type": "response.in_progress", "response": in_progress},
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": _reasoning_item(reasoning_id),
        },
        {
            "type": "response.output_item.done",
            "output_index": 0,
            "item": _reasoning_item(reasoning_id),
        },
        {
            "type": "response.output_item.added",
            "output_index": 1,
            "item": {**_message_item(message_id, "", "in_progress"), "content": []},
        },
        {
            "type": "response.content_part.added",
            "item_id": message_id,
            "output_index": 1,
            "content_index": 0,
            "part": part,
        },
    ]
    for piece in text_pieces(text):
        steps.append(
            {
                "type": "response.output_text.delta",
                "item_id": message_id,
                "output_index": 1,
                "content_index": 0,
                "delta": piece,
                "logprobs": [],
            }
        )
    steps += [
        {
            "type": "response.output_text.done",
            "item_id": message_id,
            "output_index": 1,
            "content_index": 0,
            "text": text,
            "logprobs": [],
        },
        {
            "type": "response.content_part.done",
            "item_id": message_id,
            "output_index": 1,
            "content_index": 0,
            "part": {**part, "text": text},
        },
        {
            "type": "response.output_item.done",
            "output_index": 1,
            "item": _message_item(message_id, text),
        },
    ]
    completed = openai_response(
        model, text, usage, output=[_reasoning_item(reasoning_id), _message_item(message_id, text)]
    )
    completed["id"] = in_progress["id"]
    steps.append({"type": "response.completed", "response": completed})
    return [
        sse_event({"type": step["type"], "sequence_number": number, **step}, step["type"])
        for number, step in enumerate(steps)
    ]


def openai_model(model_id: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": CREATED_AT, "owned_by": "system"}


def openai_models(model_ids: list[str]) -> dict[str, Any]:
    return {"object": "list", "data": [openai_model(model_id) for model_id in model_ids]}


# -- OpenAI Chat Completions ----------------------------------------------------------------------


def _chat_usage(usage: FakeUsage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cache_read_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": usage.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def chat_completion(model: str, text: str, usage: FakeUsage) -> dict[str, Any]:
    return {
        "id": _id("chatcmpl-"),
        "object": "chat.completion",
        "created": CREATED_AT,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": text,
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": _chat_usage(usage),
        "service_tier": "default",
        "system_fingerprint": None,
    }


def chat_completion_stream(
    model: str,
    text: str,
    usage: FakeUsage,
    *,
    include_usage: bool,
    usage_on_last_content_chunk: bool = False,
) -> list[bytes]:
    """OpenAI sends usage in an extra final chunk with no choices; some compatible servers put it
    on the last content chunk instead (`usage_on_last_content_chunk`)."""
    completion_id = _id("chatcmpl-")

    def chunk(delta: dict[str, Any], finish_reason: str | None, chunk_usage: Any = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": CREATED_AT,
            "model": model,
            "service_tier": "default",
            "system_fingerprint": None,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        }
        if include_usage:
            body["usage"] = chunk_usage
        return body

    chunks = [chunk({"role": "assistant", "content": "", "refusal": None}, None)]
    chunks += [chunk({"content": piece}, None) for piece in text_pieces(text)]
    if include_usage and usage_on_last_content_chunk:
        chunks.append(chunk({}, "stop", _chat_usage(usage)))
    else:
        chunks.append(chunk({}, "stop"))
        if include_usage:
            chunks.append({**chunk({}, None, _chat_usage(usage)), "choices": []})
    return [sse_event(body) for body in chunks] + [sse_event("[DONE]")]


# -- errors ------------------------------------------------------------------------------------------

_ANTHROPIC_ERROR_TYPES = MappingProxyType(
    {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        429: "rate_limit_error",
        529: "overloaded_error",
    }
)


def anthropic_error(status: int, message: str) -> dict[str, Any]:
    error_type = _ANTHROPIC_ERROR_TYPES.get(status, "api_error")
    return {
        "type": "error",
        "error": {"type": error_type, "message": message},
        "request_id": _id("req_"),
    }


def openai_error(status: int, message: str) -> dict[str, Any]:
    error_type = (
        "rate_limit_exceeded" if status == 429 else "server_error" if status >= 500 else "invalid_request_error"
    )
    return {"error": {"message": message, "type": error_type, "param": None, "code": None}}
