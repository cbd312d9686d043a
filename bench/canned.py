"""Request bodies the load generators send and the replies the fake upstream returns.

Replies follow the real providers' shapes (usage included) so every subject, including the peers that parse
them, does its normal work. Request bodies put `"stream"` near the start so the fake upstream's byte search
(see upstream.py) stops early on our own bodies; peers that re-serialise still work, they are just scanned longer.
"""

import json

ANTHROPIC_MODEL = "claude-sonnet-4-5"
OPENAI_MODEL = "gpt-5"
UPSTREAM_API_KEY = "sk-bench"
# Text in a request's user message that makes the fake upstream hand it to the slow (~2 s) stream server.
SLOW_STREAM_MARKER = "bench-slow-stream"
ANTHROPIC_VERSION = "2023-06-01"


def _dump(payload: dict) -> str:
    return json.dumps(payload, separators=(",", ":"))


def _padded_body(provider: str, stream: bool, size: int, text_prefix: str = "") -> bytes:
    """A valid request body of exactly `size` bytes (padding goes into the user message text)."""

    def build(text: str) -> bytes:
        if provider == "anthropic":
            payload = {
                "model": ANTHROPIC_MODEL,
                "stream": stream,
                "max_tokens": 1024,
                "metadata": {"user_id": "bench-user"},
                "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}],
            }
        else:
            payload = {
                "model": OPENAI_MODEL,
                "stream": stream,
                "store": False,
                "input": [{"role": "user", "content": [{"type": "input_text", "text": text}]}],
            }
        return _dump(payload).encode()

    filler = "The quick brown fox jumps over the lazy dog. "
    base = build(text_prefix)
    missing = max(0, size - len(base))
    text = text_prefix + (filler * (missing // len(filler) + 1))[:missing]
    return build(text)


def request_body(provider: str, body_kind: str) -> bytes:
    """body_kind: json-1k, json-100k, stream-1k, slow-stream."""
    if body_kind == "json-1k":
        return _padded_body(provider, stream=False, size=1024)
    if body_kind == "json-100k":
        return _padded_body(provider, stream=False, size=100 * 1024)
    if body_kind == "stream-1k":
        return _padded_body(provider, stream=True, size=1024)
    if body_kind == "slow-stream":
        return _padded_body(provider, stream=True, size=1024, text_prefix=SLOW_STREAM_MARKER + " ")
    raise ValueError(f"unknown body kind {body_kind!r}")


def _sse(events: list[tuple[str, dict]]) -> str:
    return "".join(f"event: {name}\ndata: {_dump(data)}\n\n" for name, data in events)


ANSWER_WORDS = ["Hello", " from", " the", " bench", " upstream", ",", " a", " canned", " reply", "."]


def anthropic_json_reply() -> str:
    return _dump(
        {
            "id": "msg_bench0001",
            "type": "message",
            "role": "assistant",
            "model": ANTHROPIC_MODEL,
            "content": [{"type": "text", "text": "".join(ANSWER_WORDS)}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": 250,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": len(ANSWER_WORDS),
            },
        }
    )


def anthropic_sse_events() -> list[tuple[str, dict]]:
    start = {
        "type": "message_start",
        "message": {
            "id": "msg_bench0001",
            "type": "message",
            "role": "assistant",
            "model": ANTHROPIC_MODEL,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": 250,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": 1,
            },
        },
    }
    events: list[tuple[str, dict]] = [
        ("message_start", start),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        ("ping", {"type": "ping"}),
    ]
    for word in ANSWER_WORDS:
        events.append(
            (
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": word}},
            )
        )
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": len(ANSWER_WORDS)},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return events


def _openai_response(status: str, with_output: bool) -> dict:
    text = "".join(ANSWER_WORDS)
    output = [
        {
            "id": "msg_bench0001",
            "type": "message",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }
    ]
    return {
        "id": "resp_bench0001",
        "object": "response",
        "created_at": 1760000000,
        "status": status,
        "model": OPENAI_MODEL,
        "output": output if with_output else [],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": 250,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": len(ANSWER_WORDS),
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 250 + len(ANSWER_WORDS),
        }
        if with_output
        else None,
    }


def openai_json_reply() -> str:
    return _dump(_openai_response("completed", with_output=True))


def openai_sse_events() -> list[tuple[str, dict]]:
    item = {"id": "msg_bench0001", "type": "message", "status": "in_progress", "role": "assistant", "content": []}
    part = {"type": "output_text", "text": "", "annotations": []}
    events: list[tuple[str, dict]] = [
        ("response.created", {"type": "response.created", "response": _openai_response("in_progress", False)}),
        ("response.in_progress", {"type": "response.in_progress", "response": _openai_response("in_progress", False)}),
        ("response.output_item.added", {"type": "response.output_item.added", "output_index": 0, "item": item}),
        (
            "response.content_part.added",
            {
                "type": "response.content_part.added",
                "item_id": item["id"],
                "output_index": 0,
                "content_index": 0,
                "part": part,
            },
        ),
    ]
    for word in ANSWER_WORDS:
        events.append(
            (
                "response.output_text.delta",
                {
                    "type": "response.output_text.delta",
                    "item_id": item["id"],
                    "output_index": 0,
                    "content_index": 0,
                    "delta": word,
                },
            )
        )
    full_text = "".join(ANSWER_WORDS)
    done_part = {"type": "output_text", "text": full_text, "annotations": []}
    done_item = dict(item, status="completed", content=[done_part])
    events += [
        (
            "response.output_text.done",
            {
                "type": "response.output_text.done",
                "item_id": item["id"],
                "output_index": 0,
                "content_index": 0,
                "text": full_text,
            },
        ),
        (
            "response.content_part.done",
            {
                "type": "response.content_part.done",
                "item_id": item["id"],
                "output_index": 0,
                "content_index": 0,
                "part": done_part,
            },
        ),
        ("response.output_item.done", {"type": "response.output_item.done", "output_index": 0, "item": done_item}),
        ("response.completed", {"type": "response.completed", "response": _openai_response("completed", True)}),
    ]
    for number, (_, data) in enumerate(events):
        data["sequence_number"] = number
    return events


def sse_text(provider: str) -> str:
    return _sse(anthropic_sse_events() if provider == "anthropic" else openai_sse_events())


def sse_event_chunks(provider: str) -> list[str]:
    """The stream split into its events, for the slow upstream that spaces them out in time."""
    events = anthropic_sse_events() if provider == "anthropic" else openai_sse_events()
    return [_sse([event]) for event in events]


def json_reply(provider: str) -> str:
    return anthropic_json_reply() if provider == "anthropic" else openai_json_reply()


# The event that proves a stream reached its end (a stream cut short is an error for real clients). Matched
# on the type name alone: some peers re-emit OpenAI streams without `event:` lines.
FINAL_EVENT = {"anthropic": b"message_stop", "openai": b"response.completed"}
