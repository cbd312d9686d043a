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


def chat(messages: list[Any]) -> Inspection:
    return inspect_request("openai", EndpointKind.CHAT_COMPLETIONS, {"model": "gpt-x", "messages": messages})


def responses(**fields: Any) -> Inspection:
    return inspect_request("openai", EndpointKind.RESPONSES, {"model": "gpt-x", **fields})


def texts(inspection: Inspection) -> list[tuple[str, str, bool]]:
    return [(slot.scope.value, slot.text, slot.newest) for slot in inspection.slots]


# Chat Completions


def test_chat_system_developer_and_user_strings() -> None:
    found = chat(
        [
            {"role": "system", "content": "sys"},
            {"role": "developer", "content": [{"type": "text", "text": "dev"}]},
            {"role": "user", "content": "hi"},
        ]
    )
    assert texts(found) == [
        ("user_messages", "sys", True),
        ("user_messages", "dev", True),
        ("user_messages", "hi", True),
    ]


def test_chat_user_parts_text_input_text_and_images() -> None:
    found = chat(
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "a"},
                    {"type": "input_text", "text": "b"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iV"}},
                ],
            }
        ]
    )
    assert [t for _, t, _ in texts(found)] == ["a", "b"] and found.unreadable == {}


def test_chat_history_newest_turn_and_tool_messages_after_the_last_assistant() -> None:
    found = chat(
        [
            {"role": "user", "content": "old question"},
            {"role": "assistant", "content": "old answer"},
            {"role": "tool", "tool_call_id": "c0", "content": "old tool output"},
            {"role": "user", "content": "new question"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function"}]},
            {"role": "tool", "tool_call_id": "c1", "content": "fresh output"},
            {"role": "function", "name": "legacy", "content": [{"type": "text", "text": "legacy output"}]},
        ]
    )
    assert texts(found) == [
        ("user_messages", "old question", False),
        ("tool_results", "old tool output", False),
        ("user_messages", "new question", True),
        ("tool_results", "fresh output", True),
        ("tool_results", "legacy output", True),
    ]


def test_chat_system_messages_later_in_the_conversation_are_always_read() -> None:
    found = chat(
        [
            {"role": "developer", "content": "rules"},
            {"role": "user", "content": "q1"},
            {"role": "assistant", "content": "a1"},
            {"role": "user", "content": "q2"},
        ]
    )
    assert ("user_messages", "rules", True) in texts(found)


def test_chat_final_assistant_prefill_is_user_text() -> None:
    found = chat(
        [{"role": "user", "content": "q"}, {"role": "assistant", "content": [{"type": "text", "text": "pre"}]}]
    )
    assert ("user_messages", "pre", True) in texts(found)


@pytest.mark.parametrize(
    ("messages", "scope", "reason"),
    [
        (
            [{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "UklG"}}]}],
            USER,
            "input_audio",
        ),
        ([{"role": "user", "content": [{"type": "file", "file": {"file_data": "JV"}}]}], USER, "'file'"),
        ([{"role": "user", "content": [{"type": "hologram", "text": "x"}]}], USER, "'hologram'"),
        ([{"role": "user", "content": None}], USER, "a null where text"),
        ([{"role": "user", "content": 3}], USER, "a number where text"),
        ([{"role": "critic", "content": "x"}, {"role": "user", "content": "y"}], USER, "unknown role"),
        ([{"role": "user", "content": "q"}, {"role": "tool", "content": {"x": 1}}], TOOL, "an object where text"),
    ],
)
def test_chat_unreadable_shapes(messages: list[Any], scope: PolicyScope, reason: str) -> None:
    assert reason in chat(messages).unreadable[scope]


def test_chat_messages_not_a_list() -> None:
    assert "`messages` is an object" in chat({"role": "user"}).unreadable[USER]  # type: ignore[arg-type]


# Responses


def test_responses_string_input_and_instructions() -> None:
    assert texts(responses(input="say pong", instructions="be terse")) == [
        ("user_messages", "be terse", True),
        ("user_messages", "say pong", True),
    ]


def test_real_codex_request() -> None:
    request = next(
        json.loads(line)["body"]
        for line in (FIXTURES / "codex-requests.jsonl").read_text().splitlines()
        if json.loads(line)["body"]
    )
    found = inspect_request("openai", EndpointKind.RESPONSES, request)
    expected = [part["text"] for item in request["input"] for part in item["content"]]
    assert [t for _, t, _ in texts(found)] == expected and found.unreadable == {}
    assert all(newest for _, _, newest in texts(found))


def test_real_sdk_requests() -> None:
    for line in (FIXTURES / "python-sdk-requests.jsonl").read_text().splitlines():
        request = json.loads(line)
        if request["method"] != "POST" or "responses" not in request["path"]:
            continue
        found = inspect_request("openai", EndpointKind.RESPONSES, request["body"])
        assert [slot.text for slot in found.slots] == [request["body"]["input"]]


def test_responses_easy_messages_and_typed_messages() -> None:
    found = responses(
        input=[
            {"role": "developer", "content": "dev"},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "typed"}]},
            {"role": "user", "content": "easy"},
        ]
    )
    assert [t for _, t, _ in texts(found)] == ["dev", "typed", "easy"]


def test_responses_tool_outputs_after_the_last_model_output() -> None:
    found = responses(
        input=[
            {"role": "user", "content": "fix the bug"},
            {"type": "reasoning", "id": "r1", "summary": [], "encrypted_content": "gAAA"},
            {"type": "function_call", "call_id": "c1", "name": "shell", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "old output"},
            {"type": "custom_tool_call", "call_id": "c2", "name": "apply_patch", "input": "*** Begin"},
            {"type": "function_call", "call_id": "c3", "name": "shell", "arguments": "{}"},
            {"type": "custom_tool_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "patched"}]},
            {"type": "function_call_output", "call_id": "c3", "output": "ls output"},
            {"type": "local_shell_call_output", "call_id": "c4", "output": "local"},
            {"type": "shell_call_output", "call_id": "c5", "output": [{"stdout": "out", "stderr": "err"}]},
            {"type": "computer_call_output", "call_id": "c6", "output": {"type": "computer_screenshot"}},
            {"type": "item_reference", "id": "msg_1"},
        ]
    )
    assert texts(found) == [
        ("user_messages", "fix the bug", True),
        ("tool_results", "old output", False),
        ("tool_results", "patched", True),
        ("tool_results", "ls output", True),
        ("tool_results", "local", True),
        ("tool_results", "out", True),
        ("tool_results", "err", True),
    ]
    assert found.unreadable == {}


def test_responses_model_items_and_assistant_history_are_not_read() -> None:
    found = responses(
        input=[
            {"role": "user", "content": "q1"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "a1"}]},
            {"type": "compaction", "encrypted_content": "gAAA"},
            {"role": "user", "content": "q2"},
        ]
    )
    assert texts(found) == [("user_messages", "q1", False), ("user_messages", "q2", True)]


@pytest.mark.parametrize(
    ("fields", "scope", "reason"),
    [
        ({"input": [{"role": "user", "content": [{"type": "input_file", "file_data": "JV"}]}]}, USER, "input_file"),
        ({"input": [{"role": "user", "content": [{"type": "input_audio"}]}]}, USER, "input_audio"),
        ({"input": [{"type": "teleport", "text": "x"}]}, USER, "'teleport'"),
        ({"input": [{"type": "teleport", "text": "x"}]}, TOOL, "'teleport'"),
        ({"input": ["bare string item"]}, USER, "a string"),
        ({"input": 12}, USER, "a number where text"),
        ({"instructions": ["a", "list"]}, USER, "an array where text"),
        ({"input": [{"type": "function_call_output", "call_id": "c", "output": [{"type": "x"}]}]}, TOOL, "'x'"),
        ({"input": [{"type": "function_call_output", "call_id": "c", "output": {"o": 1}}]}, TOOL, "an object"),
    ],
)
def test_responses_unreadable_shapes(fields: dict[str, Any], scope: PolicyScope, reason: str) -> None:
    assert reason in responses(**fields).unreadable[scope]


def test_responses_replace_writes_into_the_document() -> None:
    document: dict[str, Any] = {
        "model": "gpt-x",
        "instructions": "secret i",
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "secret u"}]},
            {"type": "function_call", "call_id": "c", "name": "n", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c", "output": "secret o"},
        ],
    }
    for slot in inspect_request("openai", EndpointKind.RESPONSES, document).slots:
        slot.replace(slot.text.replace("secret", "[R]"))
    assert b"secret" not in orjson.dumps(document)
    string_input: dict[str, Any] = {"model": "gpt-x", "input": "secret s"}
    for slot in inspect_request("openai", EndpointKind.RESPONSES, string_input).slots:
        slot.replace("[R]")
    assert string_input["input"] == "[R]"


def test_chat_replace_writes_into_the_document() -> None:
    document: dict[str, Any] = {
        "model": "gpt-x",
        "messages": [
            {"role": "system", "content": "secret s"},
            {"role": "user", "content": [{"type": "text", "text": "secret u"}]},
        ],
    }
    for slot in inspect_request("openai", EndpointKind.CHAT_COMPLETIONS, document).slots:
        slot.replace(slot.text.replace("secret", "[R]"))
    assert b"secret" not in orjson.dumps(document)


def test_responses_prompt_variables_are_user_text() -> None:
    found = responses(
        prompt={
            "id": "pmpt_1",
            "variables": {
                "topic": "forbidden topic",
                "extra": {"type": "input_text", "text": "typed variable"},
                "picture": {"type": "input_image", "image_url": "https://example.com/a.png"},
            },
        }
    )
    assert [t for _, t, _ in texts(found)] == ["forbidden topic", "typed variable"] and found.unreadable == {}
    assert "unreadable variables" in responses(prompt={"id": "p", "variables": ["x"]}).unreadable[USER]
    assert "a number where text" in responses(prompt={"id": "p", "variables": {"n": 3}}).unreadable[USER]


def test_chat_predicted_output_is_user_text() -> None:
    document = {
        "model": "gpt-x",
        "messages": [{"role": "user", "content": "q"}],
        "prediction": {"type": "content", "content": [{"type": "text", "text": "predicted"}]},
    }
    found = inspect_request("openai", EndpointKind.CHAT_COMPLETIONS, document)
    assert ("user_messages", "predicted", True) in texts(found)
