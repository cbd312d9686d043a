"""The facts of a large request body (over LARGE_BODY_BYTES), read by a streaming scan that shares the event loop.

A whole-document parse of a hostile 30 MiB body (`[[],[],...]`) holds the interpreter for seconds: orjson and
simdjson both keep the GIL, so even a worker thread stalls every other call, and orjson builds about 1 GB of
objects on the way. This scan walks the top-level object only: nested values are skipped by matching brackets
(strings found with `re` at C speed), the few top-level values the gateway reads are decoded with orjson, and
nothing else is materialised, so memory stays the body itself. It gives up the loop every TIME_SLICE seconds, so
other calls wait at most one slice per step of theirs.

For every valid JSON document it reads the same `model` (the last of repeated keys, as orjson and the providers'
parsers do), `stream` and caps as request_model.read_request. Structure (brackets, strings, separators, UTF-8) is
checked; the scalars inside nested values are left to the provider, which refuses a document
that is not JSON whatever the gateway read from it.
"""

from __future__ import annotations

import asyncio
import codecs
import re
from typing import Any

import orjson

from gateway_api.proxy.refusal import Refusal
from gateway_api.proxy.request_model import READ_KEYS, RequestFacts, facts_from_top_level

LARGE_BODY_BYTES = 1024 * 1024
# Seconds of scanning between two yields to the event loop.
TIME_SLICE = 0.002
# Positions a step may advance before the clock is read again (reading it costs more than a small step).
_STEPS_PER_CLOCK_READ = 512
_WINDOW = 64 * 1024  # bytes one step (brackets, a string's run, UTF-8) covers
_WALKED_BYTES = 64  # a value's end is located by halving windows down to this, then walked
MAX_REDUCING_PASSES = 32  # nesting levels one window's reduction undoes before the window is walked instead
# Open levels a scan keeps track of (orjson's own limit): a body of nothing but '[' cannot grow the stack. Levels
# opened and closed within one window are not counted, so deeper but balanced nesting is left to the provider.
MAX_DEPTH = 1024
MAX_KEY_BYTES = 256  # a longer raw key cannot spell one of READ_KEYS, even in \u escapes
MAX_READ_VALUE_BYTES = 1024 * 1024  # a top-level value the gateway decodes (a huge `model` is refused anyway)
_BYTE_ORDER_MARK = b"\xef\xbb\xbf"

_WHITESPACE = re.compile(rb"[ \t\n\r]*")
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
_REDUCED_SHAPE = re.compile(rb"[\]}]*[\[{]*")
# The rest of a string after its opening quote, escapes included, up to the window's end or a closing quote.
_STRING_RUN = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)
_SCALAR = re.compile(rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null")
_OPENERS = frozenset(b"[{")
_NOT_JSON = Refusal(400, "request body is not valid JSON")
_NOT_AN_OBJECT = Refusal(400, "request body must be a JSON object")


class _Malformed(Exception):
    pass


class _Scan:
    """One pass over one body; every method advances `pos` or raises _Malformed."""

    __slots__ = ("_body", "_deadline", "_loop", "_steps", "pos")

    def __init__(self, body: bytes) -> None:
        self._body = body
        self._loop = asyncio.get_running_loop()
        self._deadline = self._loop.time() + TIME_SLICE
        self._steps = 0
        self.pos = 0

    async def pause_if_due(self) -> None:
        self._steps += 1
        if self._steps < _STEPS_PER_CLOCK_READ:
            return
        self._steps = 0
        if self._loop.time() >= self._deadline:
            await asyncio.sleep(0)
            self._deadline = self._loop.time() + TIME_SLICE

    def skip_whitespace(self) -> int:
        """The byte at the next non-blank position (-1 at the end)."""
        match = _WHITESPACE.match(self._body, self.pos)
        self.pos = match.end() if match else self.pos
        return self._body[self.pos] if self.pos < len(self._body) else -1

    def expect(self, byte: bytes) -> None:
        if self.skip_whitespace() != byte[0]:
            raise _Malformed
        self.pos += 1

    def skip_short_string(self) -> bool:
        """Whether the string after `pos` ended within one window (the common case, without a coroutine)."""
        body = self._body
        match = _STRING_RUN.match(body, self.pos, self.pos + _WINDOW)
        if match is None:
            return False
        end = match.end()
        if end < len(body) and body[end] == 0x22:
            self.pos = end + 1
            return True
        return False

    async def skip_string(self) -> None:
        """From just after an opening quote to just after its closing quote, a window at a time."""
        body, size = self._body, len(self._body)
        while True:
            start, end = self.pos, min(self.pos + _WINDOW, size)
            match = _STRING_RUN.match(body, start, end)
            self.pos = match.end() if match else start
            if self.pos < size and body[self.pos] == 0x22:  # the closing quote
                self.pos += 1
                return
            if end == size or (self.pos == start and self.pos != end - 1):
                raise _Malformed  # no closing quote (or a lone backslash at the very end)
            # Stopped at the window's end, or at a backslash whose escaped byte lies past it: go on from there.
            await self.pause_if_due_now()

    async def skip_value(self) -> None:
        first = self.skip_whitespace()
        if first == 0x22:
            self.pos += 1
            if not self.skip_short_string():
                await self.skip_string()
        elif first in _OPENERS:
            await self._skip_nested()
        else:
            match = _SCALAR.match(self._body, self.pos)
            if match is None:
                raise _Malformed
            self.pos = match.end()

    async def _skip_nested(self) -> None:
        """An array or object, from its opening bracket: brackets matched by kind, strings skipped, nothing built.

        Between two strings the brackets of a whole window are reduced at C speed (matched pairs removed until
        only `]]}[{[` shapes remain, see _reduce), which says whether the value ends inside the window; only
        then is the window halved down to a few bytes and walked bracket by bracket."""
        body, size = self._body, len(self._body)
        expected = [body[self.pos] + 2]  # the closing bracket of each open level (']' is '[' + 2, '}' is '{' + 2)
        self.pos += 1
        next_quote = -1
        while True:
            if next_quote < self.pos:
                next_quote = body.find(b'"', self.pos)
                if next_quote < 0:
                    next_quote = size
            end = min(self.pos + _WINDOW, next_quote)
            if 0 < end - self.pos <= _WALKED_BYTES:  # between two strings of an array: `,` or `],[` (cheapest walked)
                closed_at = _walk(body, self.pos, end, expected)
                if closed_at >= 0:
                    self.pos = closed_at
                    return
                self.pos = end
            elif end > self.pos:
                reduced = _reduce(body[self.pos : end])
                if reduced is None:  # deeply nested: walked, with pauses
                    closed_at = await self._walk(end, expected)
                    if closed_at >= 0:
                        self.pos = closed_at
                        return
                    self.pos = end
                elif _leading_closes(reduced) >= len(expected):
                    self.pos = await self._locate_end(end, expected)
                    return
                else:
                    _apply(reduced, expected)
                    self.pos = end
                await self.pause_if_due_now()  # a window's reduction (or walk) is a step of its own
            if self.pos >= size:
                raise _Malformed
            if self.pos == next_quote:
                self.pos += 1
                if not self.skip_short_string():
                    await self.skip_string()
            await self.pause_if_due()

    async def _locate_end(self, end: int, expected: list[int]) -> int:
        """The position just after the bracket closing the value, which lies in [pos, end) (no quote there)."""
        body, start = self._body, self.pos
        while end - start > _WALKED_BYTES:
            middle = (start + end) // 2
            reduced = _reduce(body[start:middle])
            if reduced is None:
                break  # deeply nested: the rest is walked
            if _leading_closes(reduced) >= len(expected):
                end = middle
            else:
                _apply(reduced, expected)
                start = middle
        self.pos = start
        closed_at = await self._walk(end, expected)
        if closed_at < 0:
            raise _Malformed  # the reduction said the value ends here; only a mismatched bracket makes it not
        return closed_at

    async def _walk(self, end: int, expected: list[int]) -> int:
        """Bracket by bracket from `pos` to `end`, pausing between slices: where the value closes, or -1."""
        for start in range(self.pos, end, _STEPS_PER_CLOCK_READ):
            closed_at = _walk(self._body, start, min(start + _STEPS_PER_CLOCK_READ, end), expected)
            if closed_at >= 0:
                return closed_at
            await self.pause_if_due_now()
        return -1

    async def check_utf8(self) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")()
        body = self._body
        try:
            for start in range(0, len(body), _WINDOW):
                decoder.decode(body[start : start + _WINDOW], final=start + _WINDOW >= len(body))
                await self.pause_if_due_now()
        except UnicodeDecodeError:
            raise _Malformed from None

    async def pause_if_due_now(self) -> None:
        self._steps = _STEPS_PER_CLOCK_READ
        await self.pause_if_due()


def _reduce(window: bytes) -> bytes | None:
    """The window's brackets with every matched pair removed: closers, then openers (or a mismatch remains)."""
    brackets = window.translate(None, _NOT_BRACKETS)
    # Each pass removes one level of nesting; a window nested deeper than a few passes is walked instead (None),
    # so a hostile window of deep brackets costs a bounded walk, not thousands of passes.
    for _ in range(MAX_REDUCING_PASSES):
        shorter = brackets.replace(b"[]", b"").replace(b"{}", b"")
        if len(shorter) == len(brackets):
            if not _REDUCED_SHAPE.fullmatch(shorter):
                raise _Malformed  # "[}" and the like
            return shorter
        brackets = shorter
    return None


def _walk(body: bytes, start: int, end: int, expected: list[int]) -> int:
    """Bracket by bracket through [start, end): the position after the bracket closing the value, or -1."""
    for position in range(start, end):
        char = body[position]
        if char == 0x5B or char == 0x7B:
            expected.append(char + 2)
            if len(expected) > MAX_DEPTH:
                raise _Malformed
        elif char == 0x5D or char == 0x7D:
            if expected.pop() != char:
                raise _Malformed
            if not expected:
                return position + 1
    return -1


def _leading_closes(reduced: bytes) -> int:
    return len(reduced) - len(reduced.lstrip(b"]}"))


def _apply(reduced: bytes, expected: list[int]) -> None:
    """Close and open the levels a reduced window leaves (it does not close the value: fewer closers than levels)."""
    closes = _leading_closes(reduced)
    for char in reduced[:closes]:
        if expected.pop() != char:
            raise _Malformed
    expected.extend(char + 2 for char in reduced[closes:])
    if len(expected) > MAX_DEPTH:
        raise _Malformed


async def read_large_request(body: bytes) -> RequestFacts | Refusal:
    """The facts of a large body, or the 400 refusal request_model.read_request would give."""
    if body.startswith(_BYTE_ORDER_MARK):
        return _NOT_JSON
    scan = _Scan(body)
    try:
        await scan.check_utf8()
        if scan.skip_whitespace() != 0x7B:
            await scan.skip_value()  # valid JSON of another type is "not an object"; anything else "not JSON"
            return _NOT_AN_OBJECT if scan.skip_whitespace() == -1 else _NOT_JSON
        scan.pos += 1
        read = await _top_level_values(scan, body)
        if scan.skip_whitespace() != -1:
            raise _Malformed  # something after the object
    except _Malformed:
        return _NOT_JSON
    if any(len(raw) > MAX_READ_VALUE_BYTES for raw in read.values()):
        return Refusal(400, f"a top-level {', '.join(READ_KEYS)} value is larger than {MAX_READ_VALUE_BYTES} bytes")
    try:
        values: dict[str, Any] = {key: orjson.loads(raw) for key, raw in read.items()}
    except orjson.JSONDecodeError:
        return _NOT_JSON
    return facts_from_top_level(values)


async def _top_level_values(scan: _Scan, body: bytes) -> dict[str, bytes]:
    """The raw bytes of each top-level value the gateway reads (the last one of a repeated key)."""
    read: dict[str, bytes] = {}
    if scan.skip_whitespace() == 0x7D:
        scan.pos += 1
        return read
    while True:
        scan.expect(b'"')
        key_start = scan.pos - 1
        await scan.skip_string()
        raw_key = body[key_start : scan.pos] if scan.pos - key_start <= MAX_KEY_BYTES else None
        scan.expect(b":")
        scan.skip_whitespace()
        value_start = scan.pos
        await scan.skip_value()
        if raw_key is not None:
            try:
                key = orjson.loads(raw_key)
            except orjson.JSONDecodeError:
                raise _Malformed from None
            if key in READ_KEYS:
                read[key] = body[value_start : scan.pos]
        following = scan.skip_whitespace()
        scan.pos += 1
        if following == 0x7D:
            return read
        if following != 0x2C:
            raise _Malformed
