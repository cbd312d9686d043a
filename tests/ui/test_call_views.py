"""The LLM Calls page's pure parts: what a link's query means, and stored bodies shown as readable messages."""

from __future__ import annotations

import json

from gateway_ui.state.call_views import (
    filters_from_query,
    query_from_filters,
    request_messages,
    response_messages,
    shown_body,
)


def test_filters_round_trip_through_the_url_and_unknown_keys_are_ignored() -> None:
    filters = filters_from_query({"session": " s-1 ", "status": "401", "junk": "x", "q": ""})
    assert filters == {"session": "s-1", "status": "401"}
    assert query_from_filters(filters) == "status=401&session=s-1"
    assert filters_from_query(dict(part.split("=") for part in query_from_filters(filters).split("&"))) == filters


def test_requests_of_each_format_become_messages() -> None:
    anthropic = {
        "system": [{"type": "text", "text": "Be brief."}],
        "messages": [
            {"role": "user", "content": "List files"},
            {"role": "assistant", "content": [{"type": "tool_use", "name": "ls", "input": {"path": "."}}]},
            {"role": "user", "content": [{"type": "tool_result", "content": "a.txt"}]},
        ],
    }
    shown = [(m.role, m.text) for m in request_messages(json.dumps(anthropic))]
    assert shown == [
        ("system", "Be brief."),
        ("user", "List files"),
        ("assistant", '[tool call] ls({"path": "."})'),
        ("user", "[tool result] a.txt"),
    ]
    responses = {"instructions": "Help.", "input": "hi"}
    assert [(m.role, m.text) for m in request_messages(json.dumps(responses))] == [
        ("instructions", "Help."),
        ("user", "hi"),
    ]
    assert request_messages("not json") == []


def test_replies_are_shown_as_text_and_tool_calls() -> None:
    streamed = {"text": "...", "events_reassembled": {"text": "Hi", "tool_calls": [{"name": "ls", "arguments": "{}"}]}}
    assert [(m.role, m.text) for m in response_messages(streamed)] == [("assistant", "Hi"), ("tool call", "ls({})")]
    chat = {"choices": [{"message": {"content": "Yes", "tool_calls": [{"function": {"name": "f", "arguments": "1"}}]}}]}
    assert [(m.role, m.text) for m in response_messages({"text": json.dumps(chat)})] == [
        ("assistant", "Yes"),
        ("tool call", "f(1)"),
    ]
    anthropic = {"content": [{"type": "text", "text": "Hello"}]}
    assert [(m.role, m.text) for m in response_messages({"text": json.dumps(anthropic)})] == [("assistant", "Hello")]


def test_bodies_are_pretty_printed_and_binary_or_truncated_ones_say_so() -> None:
    assert shown_body({"text": '{"a":1}', "bytes": 7, "kept_bytes": 7, "truncated": False}) == '{\n  "a": 1\n}'
    assert shown_body({"base64": "AP8=", "bytes": 2}).startswith("[binary, 2 bytes, stored as base64]")
    cut = shown_body({"text": '{"a":', "bytes": 100, "kept_bytes": 5, "truncated": True})
    assert cut.endswith("[truncated: 5 of 100 bytes kept]")
