"""Incremental token-usage extraction from an upstream response, fed chunk by chunk on the hot path.

One `UsageScanner` per response. `feed()` gets every chunk exactly as relayed to the client and must
stay cheap: for SSE it only JSON-parses events that mention `"usage"` (a C-speed substring check
first), and a chunk made only of complete events without that word is skipped outright. The scanner
never raises: a malformed stream yields whatever usage was seen before the damage.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import orjson

from gateway_api.proxy.content_decoding import (
    StreamDecoder,
    UnsupportedEncodingError,
    make_decoder,
)
from gateway_api.proxy.providers import ProviderName
from gateway_api.proxy.usage_fields import UsageTally, apply_document, apply_fragments

logger = logging.getLogger(__name__)

# Bodies / events up to this size are parsed whole; larger ones keep only a head and a tail window,
# which is where every provider serialises the model and the usage.
MAX_PARSED_BYTES = 8 * 1024 * 1024
FRAGMENT_WINDOW_BYTES = 256 * 1024

_USAGE_MARKER = b'"usage"'
_NULL_USAGE_MARKERS = (b'"usage":null', b'"usage": null')
_DATA_FIELD = b"data:"


@dataclass(slots=True)
class TokenUsage:
    input_tokens: int = 0  # total input; for Anthropic uncached + cache_read + cache_write
    output_tokens: int = 0  # includes reasoning tokens
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    model: str | None = None  # model the upstream reports, if any


class _BoundedBuffer:
    """Accumulates bytes up to MAX_PARSED_BYTES; past that keeps only a head and a rolling tail."""

    __slots__ = ("_data", "_head", "_tail", "overflowed")

    def __init__(self) -> None:
        self._data = bytearray()
        self._head = b""
        self._tail = bytearray()
        self.overflowed = False

    def append(self, piece: bytes) -> None:
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

    def __bool__(self) -> bool:
        return self.overflowed or bool(self._data)

    def contents(self) -> bytes:
        return bytes(self._data)

    def head_and_tail(self) -> tuple[bytes, bytes]:
        return self._head, bytes(self._tail)

    def clear(self) -> None:
        self._data.clear()
        self._head = b""
        self._tail.clear()
        self.overflowed = False


def _may_carry_usage(payload: bytes) -> bool:
    if _USAGE_MARKER not in payload:
        return False
    # response.created / chat chunks say "usage":null; skip parsing those (they can be large).
    nulls = sum(payload.count(marker) for marker in _NULL_USAGE_MARKERS)
    return payload.count(_USAGE_MARKER) > nulls


_LineState = Literal["start", "prefix", "data_await_space", "data", "skip"]


class UsageScanner:
    """Reads token usage from one response body as it streams past."""

    def __init__(
        self,
        provider: ProviderName,
        streaming: bool,
        content_encoding: str | None = None,
    ) -> None:
        self._provider: ProviderName = provider
        self._streaming = streaming
        self._tally = UsageTally()
        self._broken = False
        self._result: TokenUsage | None = None
        self._decoder: StreamDecoder | None = None
        try:
            self._decoder = make_decoder(content_encoding)
        except UnsupportedEncodingError:
            logger.warning("usage not readable: unsupported content-encoding %r", content_encoding)
            self._broken = True
        self._buffer = _BoundedBuffer()  # the JSON body, or the data of the current SSE event
        self._line_state: _LineState = "start"
        self._line_prefix = b""
        self._cr_pending = False

    @property
    def saw_usage(self) -> bool:
        """Whether the upstream reported any usage figure so far."""
        return self._tally.saw_usage

    def feed(self, chunk: bytes) -> None:
        if self._broken or not chunk:
            return
        try:
            if self._decoder is None:
                self._consume(chunk)
            else:
                for piece in self._decoder.decode(chunk):
                    self._consume(piece)
        except Exception:  # accounting must never break the relay to the client
            logger.warning("usage scanning stopped: unreadable response body", exc_info=True)
            self._broken = True

    def finish(self) -> TokenUsage:
        if self._result is None:
            try:
                self._finish_body()
            except Exception:  # same reason as in feed()
                logger.warning("usage scanning failed at end of body", exc_info=True)
            self._result = self._normalised()
        return self._result

    # -- shared -----------------------------------------------------------------------------------

    def _consume(self, data: bytes) -> None:
        if self._streaming:
            self._consume_sse(data)
        else:
            self._buffer.append(data)

    def _finish_body(self) -> None:
        if self._broken and not self._streaming:
            return
        if self._streaming:
            if not self._broken:
                if self._cr_pending:
                    self._cr_pending = False
                    self._consume_sse(b"\n")
                if self._line_state != "start":
                    self._consume_sse(b"\n")  # an unterminated last line still counts
            self._dispatch_event()  # a truncated stream's last event, if it happens to be whole
            return
        self._apply_payload(self._buffer)

    def _apply_payload(self, buffer: _BoundedBuffer) -> None:
        if buffer.overflowed:
            head, tail = buffer.head_and_tail()
            if _USAGE_MARKER in tail or _USAGE_MARKER in head:
                apply_fragments(self._tally, self._provider, head, tail)
            return
        payload = buffer.contents()
        if not _may_carry_usage(payload):
            return
        try:
            document = orjson.loads(payload)
        except orjson.JSONDecodeError:
            # Truncated or garbled: the usage object itself may still be intact.
            apply_fragments(self._tally, self._provider, payload[:FRAGMENT_WINDOW_BYTES], payload)
            return
        apply_document(self._tally, self._provider, document)

    def _normalised(self) -> TokenUsage:
        tally = self._tally
        cache_read = tally.cache_read_tokens or 0
        cache_write = tally.cache_write_tokens or 0
        input_tokens = tally.input_tokens or 0
        if self._provider == "anthropic":
            # Anthropic reports uncached input separately from the cache figures.
            input_tokens += cache_read + cache_write
        return TokenUsage(
            input_tokens=input_tokens,
            output_tokens=tally.output_tokens or 0,
            cache_read_tokens=cache_read,
            cache_write_tokens=cache_write,
            reasoning_tokens=tally.reasoning_tokens or 0,
            model=tally.model,
        )

    # -- server-sent events -----------------------------------------------------------------------

    def _consume_sse(self, data: bytes) -> None:
        if self._cr_pending:
            data = b"\r" + data
            self._cr_pending = False
        if b"\r" in data:
            if data.endswith(b"\r"):  # might be the first half of a \r\n split across chunks
                data = data[:-1]
                self._cr_pending = True
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if (
            self._line_state == "start"
            and not self._buffer
            and not self._cr_pending
            and data.endswith(b"\n\n")
            and _USAGE_MARKER not in data
        ):
            return  # whole events only, none of which can carry usage
        position = 0
        length = len(data)
        while position < length:
            newline = data.find(b"\n", position)
            if newline < 0:
                self._take_line_part(data[position:], complete=False)
                return
            self._take_line_part(data[position:newline], complete=True)
            position = newline + 1

    def _take_line_part(self, part: bytes, complete: bool) -> None:
        state = self._line_state
        if state == "prefix":
            part = self._line_prefix + part
            self._line_prefix = b""
            state = "start"
        if state == "start":
            if not part:
                if complete:
                    self._dispatch_event()
                return
            if not complete and len(part) < len(_DATA_FIELD) and _DATA_FIELD.startswith(part):
                self._line_state = "prefix"
                self._line_prefix = part
                return
            if not part.startswith(_DATA_FIELD):
                self._line_state = "start" if complete else "skip"  # event:, id:, retry:, comments
                return
            if self._buffer:
                self._buffer.append(b"\n")  # multi-line data joins with a newline
            part = part[len(_DATA_FIELD) :]
            state = "data_await_space"
        if state == "data_await_space":
            if part.startswith(b" "):
                part = part[1:]
                state = "data"
            elif part or complete:
                state = "data"
        if state == "data" and part:
            self._buffer.append(part)
        self._line_state = "start" if complete else state

    def _dispatch_event(self) -> None:
        if self._buffer:
            self._apply_payload(self._buffer)
            self._buffer.clear()
