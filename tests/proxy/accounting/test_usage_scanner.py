"""UsageScanner: exact usage from every provider body shape, however the bytes are chunked."""

from __future__ import annotations

import gc
import itertools
import os
import tracemalloc
import weakref
import zlib

import brotli
import orjson
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway_api.providers.names import ProviderName
from gateway_api.proxy.accounting.usage_scanner import UsageScanner
from gateway_api.proxy.content_decoding import DecodedTooLarge
from gateway_api.usage.tokens import TokenUsage
from tests.support.fakes import provider_bodies as bodies
from tests.support.fakes.provider_bodies import FakeUsage, sse_event

ANTHROPIC_WIRE = FakeUsage(input_tokens=100, output_tokens=42, cache_read_tokens=2000, cache_write_tokens=300)
ANTHROPIC_EXPECTED = TokenUsage(
    input_tokens=2400,
    output_tokens=42,
    cache_read_tokens=2000,
    cache_write_tokens=300,
    model="claude-sonnet-4-5-20250929",
)
OPENAI_WIRE = FakeUsage(input_tokens=1500, output_tokens=700, cache_read_tokens=1024, reasoning_tokens=512)
OPENAI_EXPECTED = TokenUsage(
    input_tokens=1500,
    output_tokens=700,
    cache_read_tokens=1024,
    reasoning_tokens=512,
    model="gpt-5",
)
TEXT = "The quick brown fox jumps over the lazy dog, twice."


def scan(
    provider: ProviderName,
    streaming: bool,
    chunks: list[bytes],
    content_encoding: str | None = None,
) -> TokenUsage:
    scanner = UsageScanner(provider, streaming, content_encoding)
    for chunk in chunks:
        scanner.feed(chunk)
    return scanner.finish()


def anthropic_sse() -> bytes:
    return b"".join(bodies.anthropic_stream("claude-sonnet-4-5-20250929", TEXT, ANTHROPIC_WIRE))


def responses_sse() -> bytes:
    return b"".join(bodies.openai_response_stream("gpt-5", TEXT, OPENAI_WIRE))


def chat_sse(usage_on_last_content_chunk: bool = False) -> bytes:
    events = bodies.chat_completion_stream(
        "gpt-5",
        TEXT,
        OPENAI_WIRE,
        include_usage=True,
        usage_on_last_content_chunk=usage_on_last_content_chunk,
    )
    return b"".join(events)


STREAMS: list[tuple[ProviderName, bytes, TokenUsage]] = [
    ("anthropic", anthropic_sse(), ANTHROPIC_EXPECTED),
    ("openai", responses_sse(), OPENAI_EXPECTED),
    ("openai", chat_sse(), OPENAI_EXPECTED),
    ("openai", chat_sse(usage_on_last_content_chunk=True), OPENAI_EXPECTED),
]


# -- non-streaming JSON -----------------------------------------------------------------------------


@pytest.mark.parametrize("indent", [False, True], ids=["compact", "pretty"])
@pytest.mark.parametrize(
    ("provider", "document", "expected"),
    [
        (
            "anthropic",
            bodies.anthropic_message("claude-sonnet-4-5-20250929", TEXT, ANTHROPIC_WIRE, thinking=True),
            ANTHROPIC_EXPECTED,
        ),
        ("openai", bodies.openai_response("gpt-5", TEXT, OPENAI_WIRE), OPENAI_EXPECTED),
        ("openai", bodies.chat_completion("gpt-5", TEXT, OPENAI_WIRE), OPENAI_EXPECTED),
    ],
    ids=["anthropic-message", "openai-response", "chat-completion"],
)
def test_json_body_usage(provider: ProviderName, document: dict, expected: TokenUsage, indent: bool) -> None:
    body = orjson.dumps(document, option=orjson.OPT_INDENT_2 if indent else 0)
    assert scan(provider, False, [body]) == expected
    assert scan(provider, False, [body[i : i + 3] for i in range(0, len(body), 3)]) == expected


def test_json_body_of_a_few_megabytes_parses_whole() -> None:
    document = bodies.openai_response("gpt-5", "x" * 3_000_000, OPENAI_WIRE)
    body = orjson.dumps(document)
    assert scan("openai", False, [body[i : i + 65536] for i in range(0, len(body), 65536)]) == OPENAI_EXPECTED


def test_huge_json_body_is_not_kept_in_memory_but_usage_is_still_found() -> None:
    document = bodies.anthropic_message("claude-sonnet-4-5-20250929", "y" * 40_000_000, ANTHROPIC_WIRE)
    body = orjson.dumps(document)
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    del document, body
    scanner = UsageScanner("anthropic", streaming=False)
    tracemalloc.start()
    try:
        for chunk in chunks:
            scanner.feed(chunk)
        usage = scanner.finish()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert usage == ANTHROPIC_EXPECTED
    assert peak < 12 * 1024 * 1024  # bounded by the parse limit, not by the 40 MB body


def test_json_body_without_usage_gives_zero_and_says_so() -> None:
    scanner = UsageScanner("openai", streaming=False)
    scanner.feed(b'{"object":"list","data":[]}')
    assert scanner.finish() == TokenUsage()
    assert not scanner.saw_usage


def test_truncated_json_body_still_yields_an_intact_usage_object() -> None:
    body = orjson.dumps(bodies.chat_completion("gpt-5", TEXT, OPENAI_WIRE))
    cut = body[: body.rindex(b',"service_tier"')]
    assert scan("openai", False, [cut]) == OPENAI_EXPECTED


# -- SSE ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "stream", "expected"),
    STREAMS,
    ids=["anthropic", "responses", "chat", "chat-last-chunk"],
)
def test_sse_usage_in_one_chunk_and_byte_by_byte(provider: ProviderName, stream: bytes, expected: TokenUsage) -> None:
    assert scan(provider, True, [stream]) == expected
    assert scan(provider, True, [stream[i : i + 1] for i in range(len(stream))]) == expected


@pytest.mark.parametrize("line_ending", [b"\n", b"\r\n", b"\r"], ids=["lf", "crlf", "cr"])
@pytest.mark.parametrize(("provider", "stream", "expected"), STREAMS[:2], ids=["anthropic", "responses"])
def test_sse_split_at_every_byte_boundary(
    provider: ProviderName, stream: bytes, expected: TokenUsage, line_ending: bytes
) -> None:
    stream = stream.replace(b"\n", line_ending)
    for cut in range(len(stream) + 1):
        assert scan(provider, True, [stream[:cut], stream[cut:]]) == expected, f"split at byte {cut}"


def test_anthropic_message_delta_overrides_start_figures() -> None:
    start = {
        "type": "message_start",
        "message": {
            "model": "claude-opus-4-1",
            "usage": {
                "input_tokens": 10,
                "cache_read_input_tokens": 0,
                "cache_creation_input_tokens": 0,
                "output_tokens": 1,
            },
        },
    }
    deltas = [
        {"type": "message_delta", "usage": {"output_tokens": 20}},
        {
            "type": "message_delta",
            "usage": {
                "output_tokens": 55,
                "input_tokens": 12,
                "cache_read_input_tokens": 7,
                "cache_creation_input_tokens": None,
            },
        },
    ]
    stream = sse_event(start, "message_start") + b"".join(sse_event(d, "message_delta") for d in deltas)
    assert scan("anthropic", True, [stream]) == TokenUsage(
        input_tokens=19, output_tokens=55, cache_read_tokens=7, model="claude-opus-4-1"
    )


@pytest.mark.parametrize("final_type", ["response.completed", "response.incomplete", "response.failed"])
def test_responses_final_events_carry_usage(final_type: str) -> None:
    response = bodies.openai_response("gpt-5", TEXT, OPENAI_WIRE, status=final_type.split(".")[1])
    stream = sse_event({"type": final_type, "sequence_number": 3, "response": response}, final_type)
    assert scan("openai", True, [stream]) == OPENAI_EXPECTED


def test_multi_line_data_event() -> None:
    pretty = orjson.dumps(bodies.chat_completion("gpt-5", TEXT, OPENAI_WIRE), option=orjson.OPT_INDENT_2)
    event = b"".join(b"data: " + line + b"\n" for line in pretty.split(b"\n")) + b"\n"
    assert scan("openai", True, [event[:50], event[50:]]) == OPENAI_EXPECTED


def test_data_field_without_space_and_unterminated_last_event() -> None:
    stream = b'data:{"usage":{"prompt_tokens":3,"completion_tokens":4},"model":"gpt-4o"}'
    assert scan("openai", True, [stream]) == TokenUsage(input_tokens=3, output_tokens=4, model="gpt-4o")


def test_truncated_stream_keeps_partial_usage() -> None:
    stream = anthropic_sse()
    cut = stream[: stream.index(b"event: message_delta")]
    assert scan("anthropic", True, [cut]) == TokenUsage(
        input_tokens=2400,
        output_tokens=1,
        cache_read_tokens=2000,
        cache_write_tokens=300,
        model="claude-sonnet-4-5-20250929",
    )


def test_garbage_events_are_ignored() -> None:
    events = bodies.anthropic_stream("claude-sonnet-4-5-20250929", TEXT, ANTHROPIC_WIRE)
    stream = events[0] + b"".join(bodies.MALFORMED_SSE_EVENTS) + b"".join(events[1:])
    assert scan("anthropic", True, [stream[i : i + 5] for i in range(0, len(stream), 5)]) == ANTHROPIC_EXPECTED


def test_usage_null_events_are_not_mistaken_for_usage() -> None:
    stream = sse_event({"type": "response.created", "response": bodies.openai_response("gpt-5", "", None)})
    scanner = UsageScanner("openai", streaming=True)
    scanner.feed(stream)
    assert scanner.finish() == TokenUsage()
    assert not scanner.saw_usage


def test_huge_sse_event_keeps_usage_without_keeping_the_event() -> None:
    response = bodies.openai_response("gpt-5", "z" * 20_000_000, OPENAI_WIRE)
    stream = sse_event({"type": "response.completed", "response": response}, "response.completed")
    chunks = [stream[i : i + 65536] for i in range(0, len(stream), 65536)]
    assert scan("openai", True, chunks) == OPENAI_EXPECTED


def test_finish_is_idempotent_and_feed_after_finish_is_harmless() -> None:
    scanner = UsageScanner("openai", streaming=True)
    scanner.feed(responses_sse())
    first = scanner.finish()
    scanner.feed(b"data: garbage\n\n")
    assert scanner.finish() == first == OPENAI_EXPECTED


# -- compression -------------------------------------------------------------------------------------


def compress(data: bytes, coding: str) -> bytes:
    if coding == "gzip":
        compressor = zlib.compressobj(wbits=31)
    elif coding == "deflate":
        compressor = zlib.compressobj(wbits=zlib.MAX_WBITS)
    elif coding == "raw-deflate":
        compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    elif coding == "br":
        return brotli.compress(data)
    else:
        return zstandard.ZstdCompressor().compress(data)
    return compressor.compress(data) + compressor.flush()


CODINGS = ["gzip", "deflate", "raw-deflate", "br", "zstd"]


@pytest.mark.parametrize("coding", CODINGS)
def test_compressed_sse_stream(coding: str) -> None:
    encoded = compress(anthropic_sse(), coding)
    header = "deflate" if coding == "raw-deflate" else coding
    chunks = [encoded[i : i + 7] for i in range(0, len(encoded), 7)]
    assert scan("anthropic", True, chunks, header) == ANTHROPIC_EXPECTED


@pytest.mark.parametrize("coding", CODINGS)
def test_compressed_json_body(coding: str) -> None:
    body = orjson.dumps(bodies.openai_response("gpt-5", TEXT, OPENAI_WIRE), option=orjson.OPT_INDENT_2)
    encoded = compress(body, coding)
    header = "deflate" if coding == "raw-deflate" else coding
    assert scan("openai", False, [encoded[:11], encoded[11:]], header) == OPENAI_EXPECTED


def test_stacked_encodings_are_undone_in_reverse_order() -> None:
    encoded = brotli.compress(compress(responses_sse(), "gzip"))
    assert scan("openai", True, [encoded], "gzip, br") == OPENAI_EXPECTED


def test_gzip_bomb_stops_the_scan_instead_of_being_decoded() -> None:
    """50 MB of one letter gzips about 1000:1: past the ratio cap, the scanner raises (the call ends in a 502)."""
    body = b'{"pad":"' + b"a" * 50_000_000 + b'","usage":{"prompt_tokens":1,"completion_tokens":2}}'
    with pytest.raises(DecodedTooLarge):
        scan("openai", False, [compress(body, "gzip")], "gzip")


def test_a_large_compressed_reply_within_the_limits_is_scanned_in_bounded_pieces() -> None:
    pad = os.urandom(6_000_000).hex().encode()  # 12 MB that compresses about 2:1, past the scanner's 8 MiB window
    body = b'{"pad":"' + pad + b'","usage":{"prompt_tokens":1,"completion_tokens":2}}'
    assert scan("openai", False, [compress(body, "gzip")], "gzip") == TokenUsage(input_tokens=1, output_tokens=2)


@pytest.mark.parametrize(
    ("coding", "data"),
    [("gzip", b"not gzip at all"), ("br", b"\xff" * 40), ("zstd", b"nope"), ("compress", b"x")],
)
def test_undecodable_or_unsupported_encoding_never_raises(coding: str, data: bytes) -> None:
    scanner = UsageScanner("anthropic", True, coding)
    scanner.feed(data)
    scanner.feed(anthropic_sse())
    assert scanner.finish() == TokenUsage()


# -- properties ------------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stream_index=st.integers(0, len(STREAMS) - 1),
    cuts=st.lists(st.integers(0, 10_000), max_size=30),
    crlf=st.booleans(),
)
def test_random_chunking_never_changes_the_result(stream_index: int, cuts: list[int], crlf: bool) -> None:
    provider, stream, expected = STREAMS[stream_index]
    if crlf:
        stream = stream.replace(b"\n", b"\r\n")
    bounds = sorted({cut % (len(stream) + 1) for cut in cuts} | {0, len(stream)})
    chunks = [stream[start:end] for start, end in itertools.pairwise(bounds)]
    assert scan(provider, True, chunks) == expected


@settings(max_examples=200, deadline=None)
@given(
    provider=st.sampled_from(["anthropic", "openai"]),
    streaming=st.booleans(),
    coding=st.sampled_from([None, "gzip", "deflate", "br", "zstd"]),
    chunks=st.lists(
        st.one_of(
            st.binary(max_size=300),
            st.sampled_from(list(bodies.MALFORMED_SSE_EVENTS)),
            st.just(b'data: {"usage":{"input_tokens":-5,"output_tokens":true}}\n\n'),
            st.just(b'{"usage":{"prompt_tokens":"x"},"model":7}'),
        ),
        max_size=12,
    ),
)
def test_garbage_never_raises(provider: ProviderName, streaming: bool, coding: str | None, chunks: list[bytes]) -> None:
    usage = scan(provider, streaming, chunks, coding)
    assert usage.input_tokens >= 0
    assert usage.output_tokens >= 0


@pytest.mark.parametrize("streaming", [True, False])
def test_a_finished_scanner_is_freed_without_the_cycle_collector(streaming: bool) -> None:
    """One scanner per call: left in a reference cycle, each would wait for (and feed) the cyclic GC."""
    body = anthropic_sse() if streaming else orjson.dumps(bodies.anthropic_message("m", TEXT, ANTHROPIC_WIRE))
    gc.disable()
    try:
        scanner = UsageScanner("anthropic", streaming)
        scanner.feed(body)
        assert scanner.finish().output_tokens == 42
        freed = weakref.ref(scanner)
        del scanner
        assert freed() is None
    finally:
        gc.enable()
