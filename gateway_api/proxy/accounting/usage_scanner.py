"""Incremental token-usage extraction from an upstream response, fed chunk by chunk on the hot path.

One `UsageScanner` per response. `feed()` gets every chunk exactly as relayed to the client and must
stay cheap: SSE is framed per event (blank line), not per line, with a few C-level byte operations
per chunk; only events that mention `"usage"` are JSON-parsed, and a chunk made only of complete
events without that word is skipped outright. The scanner never raises for a malformed stream (it
yields whatever usage was seen before the damage); only a compressed reply past the decoding limits raises
`DecodedTooLarge`, which ends the call.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import partial

import orjson

from gateway_api.providers.names import ProviderName
from gateway_api.providers.spec import PROVIDERS, EndpointKind
from gateway_api.proxy.accounting.usage_fields import UsageTally, apply_document, apply_fragments
from gateway_api.proxy.content_decoding import (
    DEFAULT_DECODE_LIMITS,
    DecodedTooLarge,
    DecodeLimits,
    StreamDecoder,
    UnsupportedEncodingError,
    make_decoder,
)
from gateway_api.usage.tokens import TokenUsage

logger = logging.getLogger(__name__)

# Bodies / events up to this size are parsed whole; larger ones keep only a head and a tail window,
# which is where every provider serialises the model and the usage.
MAX_PARSED_BYTES = 8 * 1024 * 1024
FRAGMENT_WINDOW_BYTES = 256 * 1024

_USAGE_MARKER = b'"usage"'
_NULL_USAGE_MARKERS = (b'"usage":null', b'"usage": null')
_DATA_FIELD = b"data:"
_EVENT_END = b"\n\n"


# Where each streamed endpoint puts the text it generates (answer, reasoning, tool arguments), counted as relayed
# so that a stream cut before its usage event still has an output estimate (cut_usage.py). Only the deltas (the
# `done` events that repeat a whole text are left out), in the providers' compact JSON. Each pattern starts with a
# literal, which the regex engine searches fast; a Python loop over the matches costs several times more:
# - Anthropic: the value after any `..._delta` type (text, thinking, partial_json; not a signature);
# - Responses: every `"delta":"...`;
# - Chat Completions: `content` (and `reasoning_content`) and tool-call `arguments`.
_JSON_STRING_REST = rb'([^"\\]*(?:\\.[^"\\]*)*)"'
_GENERATED_TEXT: dict[EndpointKind, tuple[re.Pattern[bytes], ...]] = {
    EndpointKind.MESSAGES: (re.compile(rb'_delta","(?:text|thinking|partial_json)":"' + _JSON_STRING_REST),),
    EndpointKind.RESPONSES: (re.compile(rb'"delta":"' + _JSON_STRING_REST),),
    EndpointKind.CHAT_COMPLETIONS: (
        re.compile(rb'content":"' + _JSON_STRING_REST),
        re.compile(rb'"arguments":"' + _JSON_STRING_REST),
    ),
}


class _BoundedBuffer:
    """Accumulates bytes up to MAX_PARSED_BYTES; past that keeps only a head and a rolling tail."""

    __slots__ = ("_data", "_head", "_tail", "overflowed", "size")

    def __init__(self) -> None:
        self._data = bytearray()
        self._head = b""
        self._tail = bytearray()
        self.overflowed = False
        self.size = 0  # every byte appended, kept or not

    def append(self, piece: bytes) -> None:
        self.size += len(piece)
        if not self.overflowed:
            self._data += piece
            if len(self._data) > MAX_PARSED_BYTES:
                self.overflowed = True
                self._head = bytes(self._data[:FRAGMENT_WINDOW_BYTES])
                self._tail = self._data[-FRAGMENT_WINDOW_BYTES:]
                self._data = bytearray()
            return
        self._tail += piece
        if len(self._tail) > 2 * FRAGMENT_WINDOW_BYTES:
            del self._tail[:-FRAGMENT_WINDOW_BYTES]

    def contents(self) -> bytes:
        return bytes(self._data)

    def head_and_tail(self) -> tuple[bytes, bytes]:
        return self._head, bytes(self._tail)


def _may_carry_usage(payload: bytes) -> bool:
    mentions = payload.count(_USAGE_MARKER)
    # response.created / chat chunks say "usage":null; skip parsing those (they can be large).
    return mentions > 0 and mentions > payload.count(_NULL_USAGE_MARKERS[0]) + payload.count(_NULL_USAGE_MARKERS[1])


class _SseUsageEvents:
    """Frames an SSE byte stream into events (after line endings are normalised to \\n) and hands
    those that mention usage to `on_event`; an event too large to keep is reduced to its head and
    tail and handed to `on_fragments`."""

    __slots__ = (
        "_cr_pending",
        "_huge_head",
        "_huge_tail",
        "_on_event",
        "_on_fragments",
        "_pending",
        "_text_finders",
        "text_bytes",
    )

    def __init__(
        self,
        on_event: Callable[[bytes], None],
        on_fragments: Callable[[bytes, bytes], None],
        generated_text: tuple[re.Pattern[bytes], ...],
    ) -> None:
        self._on_event = on_event
        self._on_fragments = on_fragments
        self._text_finders = tuple(pattern.findall for pattern in generated_text)
        self.text_bytes = 0  # the size of the generated text in the complete events so far (JSON-escaped)
        self._pending = bytearray()  # the incomplete event at the end of the stream so far
        self._huge_head: bytes | None = None  # set while inside an oversized event
        self._huge_tail = bytearray()
        self._cr_pending = False

    def feed(self, data: bytes) -> None:
        data = self._normalise_line_endings(data)
        if self._huge_head is not None:
            rest = self._continue_huge_event(data)
            if rest is None:
                return
            data = rest
        pending = self._pending
        if not pending and data.endswith(_EVENT_END):  # whole events only (the usual chunk)
            for find_text in self._text_finders:
                self.text_bytes += len(b"".join(find_text(data)))
            if _USAGE_MARKER in data:
                self._emit_events(data[: -len(_EVENT_END)])
            return
        search_from = max(len(pending) - 1, 0)  # a boundary may straddle the previous chunk
        pending += data
        boundary = pending.rfind(_EVENT_END, search_from)
        if boundary >= 0:
            complete = bytes(pending[:boundary])
            del pending[: boundary + len(_EVENT_END)]
            for find_text in self._text_finders:
                self.text_bytes += len(b"".join(find_text(complete)))
            self._emit_events(complete)
        if len(pending) > MAX_PARSED_BYTES:
            self._huge_head = bytes(pending[:FRAGMENT_WINDOW_BYTES])
            self._huge_tail = pending[-FRAGMENT_WINDOW_BYTES:]
            pending.clear()

    def finish(self) -> None:
        """End of stream: a truncated stream's last event still counts if it is readable."""
        if self._huge_head is not None:
            self._end_huge_event()
        elif self._pending:
            rest = bytes(self._pending)
            self._pending.clear()
            for find_text in self._text_finders:  # a cut stream's last, incomplete event was relayed too
                self.text_bytes += len(b"".join(find_text(rest)))
            self._emit_events(rest)

    def _normalise_line_endings(self, data: bytes) -> bytes:
        if self._cr_pending:
            data = b"\r" + data
            self._cr_pending = False
        if b"\r" in data:
            if data.endswith(b"\r"):  # might be the first half of a \r\n split across chunks
                data = data[:-1]
                self._cr_pending = True
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        return data

    def _emit_events(self, complete: bytes) -> None:
        # Jump from one usage mention to the next instead of splitting every event.
        position = complete.find(_USAGE_MARKER)
        while position >= 0:
            start = complete.rfind(_EVENT_END, 0, position)
            start = 0 if start < 0 else start + len(_EVENT_END)
            end = complete.find(_EVENT_END, position)
            end = len(complete) if end < 0 else end
            self._on_event(complete[start:end])
            position = complete.find(_USAGE_MARKER, end)

    def _continue_huge_event(self, data: bytes) -> bytes | None:
        """Extend the oversized event; return what follows its end, or None if it goes on."""
        if self._huge_tail.endswith(b"\n") and data.startswith(b"\n"):
            end, rest = 0, data[1:]
        else:
            end = data.find(_EVENT_END)
            rest = data[end + len(_EVENT_END) :]
        if end < 0:
            self._huge_tail += data
            if len(self._huge_tail) > 2 * FRAGMENT_WINDOW_BYTES:
                del self._huge_tail[:-FRAGMENT_WINDOW_BYTES]
            return None
        self._huge_tail += data[:end]
        self._end_huge_event()
        return rest

    def _end_huge_event(self) -> None:
        head, tail = self._huge_head or b"", bytes(self._huge_tail)
        self._huge_head = None
        self._huge_tail = bytearray()
        if _USAGE_MARKER in tail or _USAGE_MARKER in head:
            self._on_fragments(head, tail)


def _event_data(event: bytes) -> bytes:
    """The event's data: its `data:` lines (one optional leading space removed) joined by \\n."""
    values = []
    for line in event.split(b"\n"):
        if line.startswith(_DATA_FIELD):
            value = line[len(_DATA_FIELD) :]
            values.append(value[1:] if value.startswith(b" ") else value)
    return b"\n".join(values)


class UsageScanner:
    """Reads token usage from one response body as it streams past."""

    def __init__(
        self,
        provider: ProviderName,
        streaming: bool,
        content_encoding: str | None = None,
        endpoint: EndpointKind | None = None,
        decode_limits: DecodeLimits = DEFAULT_DECODE_LIMITS,
    ) -> None:
        self._provider: ProviderName = provider
        self._tally = UsageTally()
        self._broken = False
        self._result: TokenUsage | None = None
        self._decoder: StreamDecoder | None = None
        try:
            self._decoder = make_decoder(content_encoding, decode_limits)
        except UnsupportedEncodingError:
            logger.warning("usage not readable: unsupported content-encoding %r", content_encoding)
            self._broken = True
        # Only the reader this body needs (a scanner is built per call): the SSE framer, or the JSON body buffer.
        self._events: _SseUsageEvents | None = None
        self._body: _BoundedBuffer | None = None
        self._consume: Callable[[bytes], None]
        if streaming:
            # Callbacks bound to the tally, not to self: a scanner <-> events cycle would leave every call's
            # scanner to the cyclic garbage collector, whose passes cost several percent of a core under load.
            self._events = _SseUsageEvents(
                partial(_apply_event, self._tally, provider),
                partial(apply_fragments, self._tally, provider),
                _GENERATED_TEXT.get(endpoint, ()) if endpoint is not None else (),
            )
            self._consume = self._events.feed
        else:
            self._body = _BoundedBuffer()
            self._consume = self._body.append

    @property
    def saw_usage(self) -> bool:
        """Whether the upstream reported any usage figure so far."""
        return self._tally.saw_usage

    @property
    def usage_complete(self) -> bool:
        """Whether the provider's closing usage report was read (after finish()); False for a cut stream."""
        return self._tally.final

    @property
    def input_reported(self) -> bool:
        """Whether the provider told the input side (e.g. Anthropic's message_start of a cut stream)."""
        return self._tally.input_tokens is not None

    @property
    def relayed_text_bytes(self) -> int:
        """The size of what the model generated that was relayed: the text deltas of a stream (JSON-escaped, never a
        copy of them), or a whole body's bytes."""
        if self._events is not None:
            return self._events.text_bytes
        assert self._body is not None
        return self._body.size

    def feed(self, chunk: bytes) -> None:
        if self._broken or not chunk:
            return
        consume = self._consume
        try:
            if self._decoder is None:
                consume(chunk)
            else:
                for piece in self._decoder.decode(chunk):
                    consume(piece)  # each piece is dropped once consumed: no decoded copy of the reply is kept
        except DecodedTooLarge:
            self._broken = True
            raise  # a decompression bomb ends the call (handler.py), whatever the client accepts
        except Exception:  # accounting must never break the relay to the client
            logger.warning("usage scanning stopped: unreadable response body", exc_info=True)
            self._broken = True

    def finish(self) -> TokenUsage:
        if self._result is None:
            try:
                if self._events is not None:
                    self._events.finish()
                elif not self._broken:
                    self._finish_json_body()
            except Exception:  # same reason as in feed()
                logger.warning("usage scanning failed at end of body", exc_info=True)
            self._result = self._normalised()
        return self._result

    def _finish_json_body(self) -> None:
        body = self._body
        assert body is not None  # not streaming
        if body.overflowed:
            apply_fragments(self._tally, self._provider, *body.head_and_tail())
        else:
            _apply_json(self._tally, self._provider, body.contents())

    def _normalised(self) -> TokenUsage:
        tally = self._tally
        cache_read = tally.cache_read_tokens or 0
        cache_write = tally.cache_write_tokens or 0
        input_tokens = tally.input_tokens or 0
        if PROVIDERS[self._provider].input_excludes_cache:
            input_tokens += cache_read + cache_write
        return TokenUsage(
            input_tokens=input_tokens,
            output_tokens=tally.output_tokens or 0,
            cache_read_tokens=cache_read,
            cache_write_tokens=cache_write,
            reasoning_tokens=tally.reasoning_tokens or 0,
            model=tally.model,
            corrected=tally.corrected,
        )


def _apply_event(tally: UsageTally, provider: ProviderName, event: bytes) -> None:
    _apply_json(tally, provider, _event_data(event))


def _apply_json(tally: UsageTally, provider: ProviderName, payload: bytes) -> None:
    if not _may_carry_usage(payload):
        return
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError:
        # Truncated or garbled: the usage object itself may still be intact.
        apply_fragments(tally, provider, payload[:FRAGMENT_WINDOW_BYTES], payload)
        return
    apply_document(tally, provider, document)
