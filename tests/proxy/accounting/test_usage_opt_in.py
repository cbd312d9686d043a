"""usage_opt_in: the body that asks for usage, and the stream filter that hides the answer, on the fake upstream's
real Chat Completions streams."""

from __future__ import annotations

import itertools

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway_api.proxy.accounting.usage_opt_in import UsageChunkHider, with_usage_requested
from gateway_api.proxy.request_model import RequestFacts, read_request
from tests.support.fakes import provider_bodies as bodies
from tests.support.fakes.provider_bodies import FakeUsage

TEXT = 'Say "hi"\nthen stop, usage: none.'
USAGE = FakeUsage(input_tokens=500, output_tokens=80, cache_read_tokens=300)


def facts(body: bytes) -> RequestFacts:
    read = read_request(body)
    assert isinstance(read, RequestFacts)
    return read


def test_a_body_without_stream_options_gets_the_member_and_nothing_else() -> None:
    body = b' {"model":"gpt-5","stream":true,"messages":[{"role":"user","content":"caf\\u00e9"}]}'

    asked = with_usage_requested(body, facts(body))

    assert asked == b' {"stream_options":{"include_usage":true},' + body[2:]
    assert facts(asked) == RequestFacts("gpt-5", True, None, True, has_stream_options=True)


def test_other_stream_options_survive() -> None:
    body = b'{"model":"gpt-5","stream":true,"stream_options":{"include_obfuscation":false,"include_usage":false}}'

    asked = with_usage_requested(body, facts(body))

    assert asked is not None
    assert orjson.loads(asked) == {
        "model": "gpt-5",
        "stream": True,
        "stream_options": {"include_obfuscation": False, "include_usage": True},
    }


@pytest.mark.parametrize(
    ("body", "model"),
    [
        # The last of repeated keys counts (request_model's rule): the usage the client asked for was taken back.
        (b'{"model":"gpt-5","stream":true,"stream_options":{"include_usage":true},"stream_options":null}', "gpt-5"),
        # A model repeated next to stream options: the forwarded body keeps only the model that was authorised.
        (b'{"model":"gpt-4.1","stream_options":{},"model":"gpt-5","stream":true}', "gpt-5"),
    ],
)
def test_repeated_keys_are_read_as_request_model_reads_them(body: bytes, model: str) -> None:
    read = facts(body)
    assert (read.model, read.stream, read.include_usage) == (model, True, False)

    asked = with_usage_requested(body, read)

    assert asked is not None
    assert asked.count(b'"model"') == 1
    assert facts(asked) == RequestFacts(model, True, None, True, has_stream_options=True)


def test_stream_options_that_are_not_an_object_are_left_alone() -> None:
    body = b'{"model":"gpt-5","stream":true,"stream_options":"yes"}'

    assert with_usage_requested(body, facts(body)) is None


def chat_stream(*, include_usage: bool, on_last_content_chunk: bool = False) -> bytes:
    events = bodies.chat_completion_stream(
        "gpt-5", TEXT, USAGE, include_usage=include_usage, usage_on_last_content_chunk=on_last_content_chunk
    )
    return b"".join(events)


def same_ids(stream: bytes, like: bytes) -> bytes:
    """`stream` with the completion id of `like` (each generated stream has its own)."""

    def completion_id(sse: bytes) -> bytes:
        return orjson.loads(sse.split(b"\n", 1)[0].removeprefix(b"data: "))["id"].encode()

    return stream.replace(completion_id(stream), completion_id(like))


def hide(stream: bytes, cuts: list[int]) -> bytes:
    hider = UsageChunkHider()
    bounds = [0, *sorted(set(cuts)), len(stream)]
    pieces = [stream[start:end] for start, end in itertools.pairwise(bounds)]
    return b"".join(hider.relay(piece, index == len(pieces) - 1) for index, piece in enumerate(pieces))


@settings(max_examples=150, deadline=None)
@given(data=st.data(), on_last_content_chunk=st.booleans(), crlf=st.booleans())
def test_the_client_gets_the_stream_it_would_have_got_without_asking(
    data: st.DataObject, on_last_content_chunk: bool, crlf: bool
) -> None:
    asked = chat_stream(include_usage=True, on_last_content_chunk=on_last_content_chunk)
    expected = same_ids(chat_stream(include_usage=False), asked)
    if crlf:
        asked, expected = asked.replace(b"\n", b"\r\n"), expected.replace(b"\n", b"\r\n")
    cuts = data.draw(st.lists(st.integers(min_value=1, max_value=len(asked) - 1), max_size=12))

    assert b'"usage"' in asked
    assert hide(asked, cuts) == expected


def test_events_that_do_not_mention_usage_pass_untouched() -> None:
    hider = UsageChunkHider()
    odd = b'data: {"choices":[],"note":"not json\n\ndata: [DONE]\n\n'

    assert hider.relay(odd, last=True) == odd
