import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from gateway_api.message_policies.requests.extraction import Inspection, inspect_request
from gateway_api.message_policies.rules import PolicyScope
from gateway_api.providers.spec import EndpointKind

USER = PolicyScope.user_messages
TOOL = PolicyScope.tool_results
FIXTURES = Path("/work/shared/fixtures")


def inspect(document: object, kind: EndpointKind = EndpointKind.MESSAGES) -> Inspection:
    return inspect_request("anthropic", kind, document)


def texts(inspection: Inspection) -> list[tuple[str, str, bool]]:
    return [(slot.scope.value, slot.text, slot.newest) for slot in inspection.slots]


def body(messages: list[Any], **extra: Any) -> dict[str, Any]:
    return {"model": "claude-x", "max_tokens": 10, "messages": messages, **extra}


def test_string_content_and_string_system() -> None:
    found = inspect(body([{"role": "user", "content": "hello"}], system="be brief"))
    assert texts(found) == [("user_messages", "be brief", True), ("user_messages", "hello", True)]
    assert found.unreadable == {}


def test_system_blocks_and_text_blocks() -> None:
    document = body(
        [{"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]}],
        system=[{"type": "text", "text": "sys", "cache_control": {"type": "ephemeral"}}],
    )
    assert [t for _, t, _ in texts(inspect(document))] == ["sys", "one", "two"]


@pytest.mark.parametrize("kind", [EndpointKind.MESSAGES, EndpointKind.COUNT_TOKENS])
def test_count_tokens_is_read_like_messages(kind: EndpointKind) -> None:
    assert texts(inspect(body([{"role": "user", "content": "x"}]), kind)) == [("user_messages", "x", True)]


def test_endpoints_without_messages_have_nothing() -> None:
    assert inspect_request("anthropic", EndpointKind.LIST_MODELS, {"anything": 1}) == Inspection()


def test_real_claude_code_request() -> None:
    request = next(
        json.loads(line)["body"]
        for line in (FIXTURES / "claude-code-requests.jsonl").read_text().splitlines()
        if json.loads(line)["body"]
    )
    found = inspect(request)
    assert found.unreadable == {}
    system_texts = [block["text"] for block in request["system"]]
    user_texts = [block["text"] for block in request["messages"][-1]["content"]]
    assert [t for _, t, _ in texts(found)] == system_texts + user_texts
    assert all(newest for _, _, newest in texts(found))


def test_older_turns_are_history_and_the_newest_turn_spans_consecutive_user_messages() -> None:
    document = body(
        [
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": [{"type": "text", "text": "model answer"}]},
            {"role": "user", "content": "part one"},
            {"role": "user", "content": [{"type": "text", "text": "part two"}]},
        ]
    )
    assert texts(inspect(document)) == [
        ("user_messages", "first question", False),
        ("user_messages", "part one", True),
        ("user_messages", "part two", True),
    ]


def test_assistant_prefill_after_the_user_turn_is_read_as_user_text() -> None:
    document = body(
        [
            {"role": "user", "content": "innocent"},
            {"role": "assistant", "content": [{"type": "text", "text": "Sure, the forbidden thing is"}]},
        ]
    )
    assert texts(inspect(document)) == [
        ("user_messages", "innocent", True),
        ("user_messages", "Sure, the forbidden thing is", True),
    ]


def test_prefill_as_a_string() -> None:
    document = body([{"role": "user", "content": "q"}, {"role": "assistant", "content": "prefilled"}])
    assert ("user_messages", "prefilled", True) in texts(inspect(document))


def test_tool_results_string_and_blocks_in_the_newest_turn() -> None:
    document = body(
        [
            {"role": "user", "content": "list files"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "ls", "input": {}}]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": "a.txt b.txt"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "t2",
                        "content": [
                            {"type": "text", "text": "file body"},
                            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iV"}},
                        ],
                    },
                    {"type": "tool_result", "tool_use_id": "t3", "is_error": True},
                    {"type": "text", "text": "and a note"},
                ],
            },
        ]
    )
    assert texts(inspect(document)) == [
        ("user_messages", "list files", False),
        ("tool_results", "a.txt b.txt", True),
        ("tool_results", "file body", True),
        ("user_messages", "and a note", True),
    ]


def test_older_tool_results_are_history() -> None:
    document = body(
        [
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t0", "content": "old output"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "ok"}]},
            {"role": "user", "content": "next"},
        ]
    )
    assert texts(inspect(document))[0] == ("tool_results", "old output", False)


def test_documents_text_sources_are_read_and_binary_ones_are_unreadable() -> None:
    document = body(
        [
            {
                "role": "user",
                "content": [
                    {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "plain doc"}},
                    {
                        "type": "document",
                        "title": "notes",
                        "context": "from the wiki",
                        "source": {"type": "content", "content": [{"type": "text", "text": "chunk"}]},
                    },
                    {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JV"}},
                ],
            }
        ]
    )
    found = inspect(document)
    assert [t for _, t, _ in texts(found)] == ["plain doc", "notes", "from the wiki", "chunk"]
    assert "document" in found.unreadable[USER] and "'base64'" in found.unreadable[USER]


def test_images_are_not_text_and_are_not_unreadable() -> None:
    image = {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
    found = inspect(body([{"role": "user", "content": [image, {"type": "text", "text": "what is this"}]}]))
    assert texts(found) == [("user_messages", "what is this", True)] and found.unreadable == {}


def test_search_results_are_read() -> None:
    result = {
        "type": "search_result",
        "source": "https://example.com",
        "title": "Result",
        "content": [{"type": "text", "text": "snippet"}],
    }
    assert [t for _, t, _ in texts(inspect(body([{"role": "user", "content": [result]}])))] == ["Result", "snippet"]


@pytest.mark.parametrize(
    ("content", "scope", "reason"),
    [
        ([{"type": "future_text", "text": "hidden"}], USER, "'future_text'"),
        ([{"type": "text", "text": ["not", "a", "string"]}], USER, "an array where text was expected"),
        ([{"type": "text"}], USER, "a null where text was expected"),
        ([42], USER, "a content block that is a number"),
        ({"text": "an object as content"}, USER, "an object where text was expected"),
        ([{"type": "container_upload", "file_id": "f1"}], USER, "'container_upload'"),
        ([{"type": "tool_result", "content": [{"type": "mystery"}]}], TOOL, "'mystery'"),
        ([{"type": "tool_result", "content": 7}], TOOL, "a number where text was expected"),
        ([{"type": "tool_result", "content": [{"type": "tool_result", "content": "nested"}]}], TOOL, "'tool_result'"),
        ([{"type": "thinking", "thinking": "a user may not send this"}], USER, "'thinking'"),
    ],
)
def test_unknown_shapes_in_the_newest_turn_are_unreadable(content: Any, scope: PolicyScope, reason: str) -> None:
    found = inspect(body([{"role": "user", "content": content}]))
    assert reason in found.unreadable[scope]
    assert "hidden" not in found.unreadable[scope]  # reasons name shapes, never content


def test_unknown_shapes_in_history_are_not_unreadable() -> None:
    document = body(
        [
            {"role": "user", "content": [{"type": "future_text", "text": "old"}]},
            {"role": "assistant", "content": "reply"},
            {"role": "user", "content": "new"},
        ]
    )
    assert inspect(document).unreadable == {}


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (["not", "an", "object"], "a request body that is an array"),
        (body("not a list"), "`messages` is a string"),  # type: ignore[arg-type]
        (body([{"role": "user", "content": "x"}], system=5), "a number where text was expected"),
        (body([{"role": "user", "content": "x"}, {"role": "moderator", "content": "y"}]), "not a user or assistant"),
        (body([{"role": "user"}]), "without content"),
        (body(["a string message"]), "not a user or assistant"),
    ],
)
def test_malformed_bodies_are_unreadable(document: Any, reason: str) -> None:
    assert reason in inspect(document).unreadable[USER]


def test_unicode_escapes_are_decoded_before_reading() -> None:
    raw = b'{"model":"m","messages":[{"role":"user","content":"\\u0041KIA\\u0049OSFODNN7EXAMPLE"}]}'
    assert texts(inspect(orjson.loads(raw))) == [("user_messages", "AKIAIOSFODNN7EXAMPLE", True)]


def test_replace_writes_into_the_document() -> None:
    document = body(
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "secret one"},
                    {"type": "tool_result", "tool_use_id": "t", "content": "secret two"},
                    {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "secret 3"}},
                    "bare secret",
                ],
            }
        ],
        system="secret sys",
    )
    found = inspect(document)
    for slot in found.slots:
        slot.replace(slot.text.replace("secret", "[R]"))
    assert "secret" not in orjson.dumps(document).decode()
    assert document["system"] == "[R] sys"
    assert document["messages"][0]["content"][1]["content"] == "[R] two"
    assert [slot.text for slot in found.slots] == ["[R] sys", "[R] one", "[R] two", "[R] 3", "bare [R]"]
