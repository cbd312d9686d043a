"""What the call log keeps of an exchange: capped bodies, redacted headers, reassembled streams; and the bound on
refused calls' rows."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from gateway_api.calllog import redaction
from gateway_api.calllog.capture import CappedBody, request_exchange
from gateway_api.calllog.reassembly import reassembled, with_reassembly
from gateway_api.calllog.redaction import redacted_headers
from gateway_api.calllog.stored_exchange import FRAME_MAGIC, body_document, decode_exchange, encode_exchange
from gateway_api.db.models import Outcome
from gateway_api.proxy.accounting.refused_row import MAX_QUEUED_REFUSALS, RefusalSink
from gateway_api.usage.rows import UsageRow
from gateway_api.usage.tokens import TokenUsage


def test_secret_looking_headers_are_redacted() -> None:
    headers = [
        (b"Authorization", b"Bearer gwk_abc"), (b"x-api-key", b"gwk_abc"), (b"cookie", b"s=1"),
        (b"x-goog-api-key", b"g"), (b"x-auth-token", b"t"), (b"x-client-secret", b"s"), (b"x-credential", b"c"),
        (b"x-db-password", b"p"), (b"user-agent", b"claude-cli/2.0"), (b"anthropic-version", b"2023-06-01"),
    ]  # fmt: skip
    kept = dict(redacted_headers(headers))
    assert {name for name, value in kept.items() if value == "[redacted]"} == {
        "authorization", "x-api-key", "cookie", "x-goog-api-key", "x-auth-token", "x-client-secret", "x-credential",
        "x-db-password",
    }  # fmt: skip
    assert kept["user-agent"] == "claude-cli/2.0" and kept["anthropic-version"] == "2023-06-01"


def test_long_header_names_are_redacted_but_not_cached() -> None:
    long_secret, long_plain = b"x-" + b"a" * 5000 + b"-Token", b"x-" + b"b" * 5000
    before = redaction._cached_name_and_secrecy.cache_info().currsize
    kept = redacted_headers([(long_secret, b"s3cret"), (long_plain, b"v"), (b"x-short-token", b"t")])
    assert kept == [
        [long_secret.decode().lower(), "[redacted]"],
        [long_plain.decode(), "v"],
        ["x-short-token", "[redacted]"],
    ]
    assert redaction._cached_name_and_secrecy.cache_info().currsize <= before + 1  # only the short name


def test_a_body_is_capped_and_a_split_character_does_not_make_it_binary() -> None:
    body = CappedBody(limit=5)
    for chunk in (b"ab", "\u00e9\u00e9".encode(), b"more"):
        body.add(chunk)
    assert body_document(b"".join(body.chunks), body.seen) == {
        "bytes": 10, "kept_bytes": 5, "truncated": True, "text": "ab\u00e9"
    }  # fmt: skip
    binary = CappedBody(limit=100)
    binary.add(b"\x00\xff\xfe")
    assert body_document(b"".join(binary.chunks), binary.seen)["base64"] == "AP/+"


def test_streams_of_the_three_formats_are_reassembled() -> None:
    def sse(*events: dict) -> str:
        return "".join(f"data: {orjson.dumps(e).decode()}\n\n" for e in events)

    anthropic = sse(
        {"type": "message_start", "message": {}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "lo"}},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "name": "grep"}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": '{"q":'}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "1}"}},
    )
    assert reassembled(anthropic) == {"text": "Hello", "tool_calls": [{"name": "grep", "arguments": '{"q":1}'}]}
    chat = (
        sse(
            {"choices": [{"index": 0, "delta": {"content": "Hi"}}]},
            {
                "choices": [
                    {"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"name": "ls", "arguments": "{}"}}]}}
                ]
            },
        )
        + "data: [DONE]\n\n"
    )
    assert reassembled(chat) == {"text": "Hi", "tool_calls": [{"name": "ls", "arguments": "{}"}]}
    responses = sse(
        {"type": "response.created"},
        {"type": "response.output_text.delta", "delta": "Yes"},
        {"type": "response.output_item.added", "output_index": 1, "item": {"type": "function_call", "name": "cat"}},
        {"type": "response.function_call_arguments.delta", "output_index": 1, "delta": "{}"},
    )
    assert reassembled(responses) == {"text": "Yes", "tool_calls": [{"name": "cat", "arguments": "{}"}]}
    assert reassembled("data: not json\n\n") is None


def test_the_request_of_an_exchange_is_kept_as_sent() -> None:
    exchange = request_exchange([(b"x-api-key", b"gwk_secret")], b'{"model":"m"}', 1024)
    stored = decode_exchange(encode_exchange(exchange))
    assert stored["request"]["body"]["text"] == '{"model":"m"}'
    assert stored["request"]["headers"] == [["x-api-key", "[redacted]"]]
    assert stored["response"] == {"status": 0, "headers": [], "body": None}


def test_a_stored_exchange_reads_back_as_sent_with_its_reply_streamed_binary_and_truncated() -> None:
    events = [b'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}\n\n',
              b'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"lo"}}\n\n']  # fmt: skip
    exchange = request_exchange([(b"Authorization", b"Bearer gwk_x"), (b"User-Agent", b"curl/8")], b"\xff\x00", 4096)
    reply = exchange.reply(200, [(b"content-type", b"text/event-stream"), (b"set-cookie", b"s=1")], streamed=True)
    for event in events:
        reply.add(event)
    framed = encode_exchange(exchange)
    assert framed.startswith(FRAME_MAGIC) and b"gwk_x" not in framed and b"s=1" not in framed
    stored = decode_exchange(framed)
    assert stored["request"] == {
        "headers": [["authorization", "[redacted]"], ["user-agent", "curl/8"]],
        "body": {"bytes": 2, "kept_bytes": 2, "truncated": False, "base64": "/wA="},
    }
    response = stored["response"]
    assert response["status"] == 200 and response["streamed"] is True
    assert response["headers"] == [["content-type", "text/event-stream"], ["set-cookie", "[redacted]"]]
    assert response["body"]["text"] == b"".join(events).decode()
    assert response["body"]["events_reassembled"] == {"text": "Hello", "tool_calls": []}

    capped = request_exchange([], b"0123456789", 4)
    capped.reply(500, [], streamed=False).add(b"an error body")
    stored = decode_exchange(encode_exchange(capped))
    assert stored["request"]["body"] == {"bytes": 10, "kept_bytes": 4, "truncated": True, "text": "0123"}
    assert stored["response"]["body"] == {"bytes": 13, "kept_bytes": 4, "truncated": True, "text": "an e"}


def test_documents_sealed_as_json_by_earlier_versions_still_read_and_damaged_frames_do_not() -> None:
    older = {
        "request": {"headers": [], "body": {"bytes": 2, "kept_bytes": 2, "truncated": False, "text": "{}"}},
        "response": {"status": 200, "headers": [], "body": {"bytes": 2, "kept_bytes": 2, "truncated": False, "text": "{}"}},
    }  # fmt: skip
    assert decode_exchange(orjson.dumps(older)) == older
    framed = encode_exchange(request_exchange([], b"body", 1024))
    for damaged in (framed[:-1], framed + b"x", FRAME_MAGIC + framed[len(FRAME_MAGIC) :][:6], b"not json", b"[1]"):
        with pytest.raises(ValueError):
            decode_exchange(damaged)


def test_refused_rows_are_dropped_and_counted_once_too_many_wait() -> None:
    queued: list[UsageRow] = []
    sink = RefusalSink(queued.append, lambda: len(queued))
    row = UsageRow(
        created_at=datetime.now(UTC), user_id=None, api_key_id=None, provider="anthropic", provider_kind="anthropic",
        model="", endpoint="messages", streamed=False, tokens=TokenUsage(), cost_usd=0.0, status_code=401,
        outcome=Outcome.refused, latency_ms=0.1, ttfb_ms=None, client="", session_id=None, request_id=None,
        call_id=None,
    )  # fmt: skip
    for _ in range(MAX_QUEUED_REFUSALS + 10):
        sink(row)
    assert len(queued) == MAX_QUEUED_REFUSALS and sink.dropped == 10


def test_a_stored_stream_is_reassembled_when_read_also_from_documents_without_the_flag() -> None:
    events = 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}\n\n'
    current = {"response": {"streamed": True, "headers": [], "body": {"text": events}}}
    older = {"response": {"headers": [["content-type", "text/event-stream"]], "body": {"text": events}}}
    whole = {"response": {"streamed": False, "headers": [], "body": {"text": '{"content": []}'}}}

    for document in (current, older):
        assert with_reassembly(document)["response"]["body"]["events_reassembled"]["text"] == "Hi"
    assert "events_reassembled" not in with_reassembly(whole)["response"]["body"]
