"""Server-sent events framed from a byte stream the way the SDKs frame them (line endings CRLF, CR or LF, events
ended by a blank line, several data lines joined by a newline), keeping each event's bytes exactly as received so
an event nobody changes goes out untouched."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import orjson

_LINE_END = re.compile(rb"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class SseEvent:
    raw: bytes  # as received, its blank line included (none for a last event the stream ended without)
    event: str | None
    data: str | None  # data lines joined by "\n"; None when the event has no data field

    def json(self) -> Any:
        """The data as JSON (None without data, and for Chat Completions' closing `[DONE]`), or `UNREADABLE` when it
        is not JSON. orjson first; then the standard library, which
        the Python SDKs use and which also reads what orjson refuses (NaN, huge integers): a payload a client could
        parse must never pass as unreadable here."""
        if self.data is None or self.data.startswith("[DONE]"):  # the SDKs end a stream on that prefix
            return None
        try:
            return orjson.loads(self.data)
        except orjson.JSONDecodeError:
            pass
        try:
            return json.loads(self.data)
        except ValueError:
            return UNREADABLE


class _Unreadable:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNREADABLE"


UNREADABLE = _Unreadable()


class SseFramer:
    """feed() returns the events a chunk completes; close() the one the stream ended in without a blank line."""

    __slots__ = ("_buffer", "_data", "_event", "_scanned", "_start")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._start = 0  # where the current event's bytes begin in the buffer
        self._scanned = 0  # where the next line begins
        self._event: str | None = None
        self._data: list[str] = []

    @property
    def pending_bytes(self) -> int:
        return len(self._buffer) - self._start

    def feed(self, chunk: bytes) -> list[SseEvent]:
        self._buffer += chunk
        events: list[SseEvent] = []
        while True:
            found = _LINE_END.search(self._buffer, self._scanned)
            if found is None:
                break
            # A CR at the very end may be the first half of a CRLF still on its way.
            if found.group() == b"\r" and found.end() == len(self._buffer):
                break
            line = bytes(self._buffer[self._scanned : found.start()])
            self._scanned = found.end()
            if line:
                self._field(line)
                continue
            events.append(self._dispatch(bytes(self._buffer[self._start : self._scanned])))
            self._start = self._scanned
        if self._start:
            del self._buffer[: self._start]
            self._scanned -= self._start
            self._start = 0
        return events

    def close(self) -> list[SseEvent]:
        if self._scanned < len(self._buffer):
            # The last line, ended by the end of the stream (or by a lone CR held back above).
            self._field(bytes(self._buffer[self._scanned :]).rstrip(b"\r"))
        raw = bytes(self._buffer)
        self._buffer.clear()
        self._scanned = self._start = 0
        if not raw.strip():
            return []
        return [self._dispatch(raw)]

    def _field(self, line: bytes) -> None:
        if line.startswith(b":"):
            return
        name, colon, value = line.partition(b":")
        if colon and value.startswith(b" "):
            value = value[1:]
        if name == b"data":
            self._data.append(value.decode("utf-8", "replace"))
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")

    def _dispatch(self, raw: bytes) -> SseEvent:
        event = SseEvent(raw, self._event, "\n".join(self._data) if self._data else None)
        self._event = None
        self._data = []
        return event


def event_bytes(data: dict[str, Any] | str, event: str | None) -> bytes:
    """One event as the gateway writes it (LF line endings, one data line)."""
    payload = data.encode() if isinstance(data, str) else dump_json(data)
    head = b"event: " + event.encode() + b"\n" if event else b""
    return head + b"data: " + payload + b"\n\n"


def dump_json(data: Any) -> bytes:
    """orjson, or the standard library for what only it reads back the same: integers beyond 64 bits."""
    try:
        return orjson.dumps(data)
    except TypeError:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
