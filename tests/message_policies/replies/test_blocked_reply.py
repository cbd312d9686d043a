"""The gateway's own reply to a blocked request, read by the real anthropic and openai SDKs from a loopback server."""

from __future__ import annotations

import anthropic
import openai
import orjson
import pytest

from gateway_api.message_policies.replies.blocked_reply import POLICY_VIOLATION_HEADER, BlockedReply, blocked_reply
from gateway_api.providers.spec import EndpointKind
from tests.support.reply_server import ReplyServer

POLICY = "no-medical-advice"
EXPLANATION = "Requests for a diagnosis go to a doctor, not to the assistant."
TEXT = f'Blocked by the gateway\'s message policy "{POLICY}": {EXPLANATION}'
MESSAGES = [{"role": "user", "content": "What is this rash?"}]


def _serve(server: ReplyServer, reply: BlockedReply) -> None:
    server.answer(reply.status, reply.headers, reply.body)


def _anthropic(server: ReplyServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.url, api_key="gateway-key", max_retries=0)


def _openai(server: ReplyServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="gateway-key", max_retries=0)


def _reply(kind: EndpointKind, stream: bool, **options: bool) -> BlockedReply:
    provider = "anthropic" if kind in {EndpointKind.MESSAGES, EndpointKind.COUNT_TOKENS} else "openai"
    return blocked_reply(provider, kind, "some-model", stream, POLICY, EXPLANATION, **options)


def test_anthropic_message(reply_server: ReplyServer) -> None:
    _serve(reply_server, _reply(EndpointKind.MESSAGES, False))
    message = _anthropic(reply_server).messages.create(model="some-model", max_tokens=50, messages=MESSAGES)
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == TEXT  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn"
    assert message.id.startswith("msg_gw")
    assert (message.usage.input_tokens, message.usage.output_tokens) == (0, 0)


def test_anthropic_stream(reply_server: ReplyServer) -> None:
    reply = _reply(EndpointKind.MESSAGES, True)
    _serve(reply_server, reply)
    client = _anthropic(reply_server)
    with client.messages.stream(model="some-model", max_tokens=50, messages=MESSAGES) as stream:
        texts = list(stream.text_stream)
        message = stream.get_final_message()
    assert "".join(texts) == TEXT
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens == 0
    raw = client.messages.create(model="some-model", max_tokens=50, messages=MESSAGES, stream=True)
    assert [event.type for event in raw] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]


def test_anthropic_count_tokens_is_a_400_in_the_error_envelope(reply_server: ReplyServer) -> None:
    reply = _reply(EndpointKind.COUNT_TOKENS, False)
    assert reply.status == 400
    assert (POLICY_VIOLATION_HEADER, POLICY.encode()) in reply.headers
    _serve(reply_server, reply)
    with pytest.raises(anthropic.BadRequestError) as raised:
        _anthropic(reply_server).messages.count_tokens(model="some-model", messages=MESSAGES)  # type: ignore[arg-type]
    assert raised.value.status_code == 400
    assert raised.value.body == {"type": "error", "error": {"type": "invalid_request_error", "message": TEXT}}


def test_chat_completion(reply_server: ReplyServer) -> None:
    _serve(reply_server, _reply(EndpointKind.CHAT_COMPLETIONS, False))
    completion = _openai(reply_server).chat.completions.create(model="some-model", messages=MESSAGES)  # type: ignore[arg-type]
    assert completion.choices[0].message.content == TEXT
    assert completion.choices[0].finish_reason == "stop"
    assert completion.id.startswith("chatcmpl-gw")
    assert completion.usage is not None and completion.usage.total_tokens == 0


@pytest.mark.parametrize("include_usage", [False, True])
def test_chat_completion_stream(reply_server: ReplyServer, include_usage: bool) -> None:
    _serve(reply_server, _reply(EndpointKind.CHAT_COMPLETIONS, True, include_usage=include_usage))
    client = _openai(reply_server)
    with client.chat.completions.stream(model="some-model", messages=MESSAGES) as stream:  # type: ignore[arg-type]
        final = stream.get_final_completion()
    assert final.choices[0].message.content == TEXT
    assert final.choices[0].finish_reason == "stop"
    assert (final.usage is not None) is include_usage
    chunks = list(client.chat.completions.create(model="some-model", messages=MESSAGES, stream=True))  # type: ignore[arg-type]
    # Every chunk but the usage chunk has a choice: clients that read choices[0] keep working.
    assert all(chunk.choices for chunk in chunks[:3])
    assert len(chunks) == (4 if include_usage else 3)
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks[:3]) == TEXT


def test_responses(reply_server: ReplyServer) -> None:
    _serve(reply_server, _reply(EndpointKind.RESPONSES, False))
    response = _openai(reply_server).responses.create(model="some-model", input="What is this rash?")
    assert response.output_text == TEXT
    assert response.status == "completed"
    assert response.id.startswith("resp_gw")
    assert response.usage is not None and response.usage.total_tokens == 0


def test_responses_stream(reply_server: ReplyServer) -> None:
    _serve(reply_server, _reply(EndpointKind.RESPONSES, True))
    client = _openai(reply_server)
    with client.responses.stream(model="some-model", input="What is this rash?") as stream:
        deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == TEXT
    assert final.output_text == TEXT
    events = list(client.responses.create(model="some-model", input="What is this rash?", stream=True))
    assert events[0].type == "response.created"
    assert events[-1].type == "response.completed"
    assert [event.sequence_number for event in events] == list(range(len(events)))


@pytest.mark.parametrize(
    "kind", [EndpointKind.MESSAGES, EndpointKind.CHAT_COMPLETIONS, EndpointKind.RESPONSES, EndpointKind.COUNT_TOKENS]
)
@pytest.mark.parametrize("stream", [False, True])
def test_headers_and_fresh_ids(kind: EndpointKind, stream: bool) -> None:
    first, second = _reply(kind, stream), _reply(kind, stream)
    headers = dict(first.headers)
    assert headers[POLICY_VIOLATION_HEADER] == POLICY.encode()
    streamed = stream and kind is not EndpointKind.COUNT_TOKENS
    assert headers[b"content-type"] == (b"text/event-stream; charset=utf-8" if streamed else b"application/json")
    if kind is not EndpointKind.COUNT_TOKENS:
        assert first.body != second.body  # a new id every time


def test_a_policy_name_in_another_script_is_percent_encoded_in_the_header() -> None:
    reply = blocked_reply("openai", EndpointKind.RESPONSES, "m", False, "Zoë's rule", EXPLANATION)
    assert dict(reply.headers)[POLICY_VIOLATION_HEADER] == b"Zo%C3%AB's rule"
    assert "Zoë's rule" in orjson.loads(reply.body)["output"][0]["content"][0]["text"]


def test_an_explanation_with_newlines_and_quotes_stays_one_event() -> None:
    reply = blocked_reply("anthropic", EndpointKind.MESSAGES, "m", True, POLICY, 'Line one.\n\ndata: "two"')
    events = reply.body.split(b"\n\n")
    assert len(events) == 7 and events[-1] == b""  # six events, nothing injected
