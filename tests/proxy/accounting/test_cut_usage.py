"""cut_usage and the scanner's view of a cut stream: what the provider told is kept, the rest estimated from the
request's size and the generated text relayed."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway_api.providers.names import ProviderName
from gateway_api.providers.spec import EndpointKind
from gateway_api.proxy.accounting.cut_usage import completed_usage, is_cut
from gateway_api.proxy.accounting.usage_scanner import UsageScanner
from gateway_api.usage.estimates import tokens_for_bytes
from gateway_api.usage.tokens import TokenUsage
from tests.support.fakes import provider_bodies as bodies
from tests.support.fakes.provider_bodies import FakeUsage, text_pieces

# Quotes, a backslash and a newline: the escaped size is what counts (it errs high, never low).
TEXT = 'He said "stop" \\ then\nleft. ' * 20
USAGE = FakeUsage(input_tokens=10, output_tokens=400, cache_read_tokens=1000, cache_write_tokens=200)
REQUEST_BYTES = 9000


def escaped_size(pieces: list[str]) -> int:
    return sum(len(piece.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")) for piece in pieces)


def stream_of(endpoint: EndpointKind, **options: bool) -> list[bytes]:
    if endpoint is EndpointKind.MESSAGES:
        return bodies.anthropic_stream("claude-sonnet-4-5", TEXT, USAGE, **options)
    if endpoint is EndpointKind.RESPONSES:
        return bodies.openai_response_stream("gpt-5", TEXT, USAGE)
    return bodies.chat_completion_stream("gpt-5", TEXT, USAGE, include_usage=True)


def scanned(endpoint: EndpointKind, chunks: list[bytes]) -> tuple[UsageScanner, TokenUsage]:
    provider: ProviderName = "anthropic" if endpoint is EndpointKind.MESSAGES else "openai"
    scanner = UsageScanner(provider, True, None, endpoint)
    for chunk in chunks:
        scanner.feed(chunk)
    return scanner, scanner.finish()


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(set(cuts)), len(data)]
    return [data[start:end] for start, end in itertools.pairwise(bounds)]


def text_events(events: list[bytes]) -> int:
    """How many of `events` come before the first text delta (the stream is cut after some of the deltas)."""
    return next(index for index, event in enumerate(events) if b"text_delta" in event or b'"delta":"' in event)


@settings(max_examples=60, deadline=None)
@given(
    endpoint=st.sampled_from([EndpointKind.MESSAGES, EndpointKind.RESPONSES, EndpointKind.CHAT_COMPLETIONS]),
    deltas=st.integers(min_value=0, max_value=30),
    data=st.data(),
)
def test_a_stream_cut_after_some_deltas_counts_exactly_their_text(
    endpoint: EndpointKind, deltas: int, data: st.DataObject
) -> None:
    events = stream_of(endpoint)
    first = 1 if endpoint is EndpointKind.CHAT_COMPLETIONS else text_events(events)  # chat: role chunk, then text
    relayed = b"".join(events[: first + deltas])
    cuts = data.draw(st.lists(st.integers(min_value=1, max_value=max(1, len(relayed) - 1)), max_size=8))

    scanner, reported = scanned(endpoint, split(relayed, cuts))

    assert is_cut(scanner, 200)
    assert scanner.relayed_text_bytes == escaped_size(text_pieces(TEXT)[:deltas])
    usage = completed_usage(reported, scanner, REQUEST_BYTES)
    assert usage.output_tokens == max(reported.output_tokens, tokens_for_bytes(scanner.relayed_text_bytes))
    if endpoint is EndpointKind.MESSAGES:  # message_start told the input and cache figures: kept exactly
        assert scanner.input_reported
        assert (usage.input_tokens, usage.cache_read_tokens, usage.cache_write_tokens) == (1210, 1000, 200)
    else:
        assert not scanner.input_reported
        assert (usage.input_tokens, usage.cache_read_tokens) == (tokens_for_bytes(REQUEST_BYTES), 0)
    if deltas:
        assert usage.output_tokens >= 1


@pytest.mark.parametrize("endpoint", [EndpointKind.MESSAGES, EndpointKind.RESPONSES, EndpointKind.CHAT_COMPLETIONS])
def test_a_whole_stream_is_not_cut(endpoint: EndpointKind) -> None:
    scanner, _ = scanned(endpoint, stream_of(endpoint))

    assert not is_cut(scanner, 200)
    assert scanner.relayed_text_bytes == escaped_size(text_pieces(TEXT))  # the `done` events are not counted twice


def test_anthropic_thinking_counts_but_its_signature_does_not() -> None:
    events = stream_of(EndpointKind.MESSAGES, thinking=True)
    cut_at = next(index for index, event in enumerate(events) if b"text_delta" in event)

    scanner, _ = scanned(EndpointKind.MESSAGES, events[:cut_at])

    assert scanner.relayed_text_bytes == len("Considering.")


def test_an_error_status_is_never_estimated() -> None:
    scanner, _ = scanned(EndpointKind.RESPONSES, [b'{"error":{"message":"overloaded"}}'])

    assert not is_cut(scanner, 529)


def test_a_whole_body_cut_short_is_estimated_from_its_size() -> None:
    body = b'{"id":"msg_1","content":[{"type":"text","text":"' + b"x" * 600
    scanner = UsageScanner("anthropic", False, None, EndpointKind.MESSAGES)
    scanner.feed(body)
    reported = scanner.finish()

    assert is_cut(scanner, 200)
    assert completed_usage(reported, scanner, 300) == TokenUsage(
        input_tokens=100, output_tokens=tokens_for_bytes(len(body))
    )


def test_a_whole_stream_without_any_usage_report_is_estimated() -> None:
    """An OpenAI-compatible server that ignores `include_usage`: the stream ends cleanly, and says nothing."""
    events = bodies.chat_completion_stream("gpt-5", TEXT, USAGE, include_usage=False)

    scanner, reported = scanned(EndpointKind.CHAT_COMPLETIONS, events)

    assert is_cut(scanner, 200)
    usage = completed_usage(reported, scanner, REQUEST_BYTES)
    expected_output = tokens_for_bytes(escaped_size(text_pieces(TEXT)))
    assert (usage.input_tokens, usage.output_tokens) == (tokens_for_bytes(REQUEST_BYTES), expected_output)
