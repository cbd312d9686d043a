"""One upstream HTTP/1.1 response: the httptools parser callbacks feed it, the proxy handler reads it.

It exposes the small surface the handler relays from (`status`, `headers`, `raw_headers`, `content_type`,
`content.readany()`, `content.at_eof()`, `close()`). The body is buffered only up to a high-water mark: beyond
it the socket stops being read until the handler (which awaits the client's `send`) drains the buffer, so a
slow client slows the upstream instead of filling memory.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import httptools

from gateway_api.proxy.http1.errors import UpstreamClosed, UpstreamProtocolError

if TYPE_CHECKING:
    from gateway_api.proxy.http1.connection import UpstreamConnection

# Read-side buffering per response: pause the socket above HIGH, resume once the handler took what was there.
HIGH_WATER_BYTES = 256 * 1024


class ResponseHeaders:
    """Case-insensitive read access to the response head; names are stored lower-cased, values as received."""

    __slots__ = ("_raw",)

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self._raw = raw

    def get(self, name: str, default: str | None = None) -> str | None:
        wanted = name.lower().encode("latin-1")
        for raw_name, value in self._raw:
            if raw_name == wanted:
                return value.decode("latin-1")
        return default

    def getall(self, name: str) -> list[str]:
        wanted = name.lower().encode("latin-1")
        return [value.decode("latin-1") for raw_name, value in self._raw if raw_name == wanted]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None


class UpstreamResponse:
    """Parser callback target and body stream of one exchange on one pooled connection."""

    def __init__(self, connection: UpstreamConnection, *, head_only: bool) -> None:
        self._connection = connection
        self._loop = connection.loop
        self._head_only = head_only
        self.status = 0
        self.raw_headers: list[tuple[bytes, bytes]] = []
        self.headers = ResponseHeaders(self.raw_headers)
        self.parser: httptools.HttpResponseParser | None = httptools.HttpResponseParser(self)
        self._interim = False  # inside a 1xx response, which is skipped
        self._head_done = False
        self._complete = False
        self._keep_alive = False
        self._error: BaseException | None = None
        self._chunks: list[bytes] = []
        self._buffered = 0
        self._paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._released = False

    # -- parser callbacks (called from the connection's data_received) ------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._interim:
            self.raw_headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        assert self.parser is not None  # callbacks come from the parser, which lives until close()
        status = self.parser.get_status_code()
        if 100 <= status < 200:
            self._interim = True  # 100 Continue and friends: the real head follows
            self.raw_headers.clear()
            return
        self.status = status
        self._head_done = True
        if self._head_only:
            # A HEAD reply announces a length it never sends; the parser does not know the method.
            self._keep_alive = self.parser is not None and self.parser.should_keep_alive()
            self._complete = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        if self._interim or self._complete:
            return
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > HIGH_WATER_BYTES and not self._paused:
            self._paused = True
            self._connection.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        if not self._complete:
            self._keep_alive = self.parser is not None and self.parser.should_keep_alive()
            self._complete = True
        self._wake()

    # -- connection events ------------------------------------------------------------------------

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._complete:
            return
        if self._head_done and self._close_delimited():
            self._complete = True  # the body ran to the end of the connection, as announced
        else:
            where = "in the response body" if self._head_done else "before the response head"
            self._error = UpstreamClosed(f"the upstream closed the connection {where}")
            self._error.__cause__ = exc
        self._wake()

    def parse_failed(self, exc: Exception) -> None:
        self._error = UpstreamProtocolError(f"invalid HTTP response from the upstream: {exc}")
        self._wake()

    def _close_delimited(self) -> bool:
        if self.status in (204, 304) or self.headers.get("content-length") is not None:
            return False
        coding = self.headers.get("transfer-encoding")
        return not (coding and coding.strip().lower().endswith("chunked"))

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    # -- what the handler uses --------------------------------------------------------------------

    async def wait_head(self) -> None:
        while not self._head_done:
            if self._error is not None:
                raise self._error
            self._waiter = self._loop.create_future()
            await self._waiter

    @property
    def content(self) -> UpstreamResponse:
        """The body stream: the handler reads `response.content.readany()`, as with aiohttp. A property, not an
        attribute pointing at self, so a finished response is freed at once rather than by the cycle collector."""
        return self

    @property
    def content_type(self) -> str:
        value = self.headers.get("content-type")
        return value.partition(";")[0].strip().lower() if value else "application/octet-stream"

    async def readany(self) -> bytes:
        """What arrived since the last call (waiting for something); b"" once the body is complete."""
        while not self._chunks:
            if self._error is not None:
                raise self._error
            if self._complete:
                return b""
            self._waiter = self._loop.create_future()
            await self._waiter
        chunks = self._chunks
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self._buffered = 0
        if self._paused:
            self._paused = False
            self._connection.resume_reading()
        return data

    def at_eof(self) -> bool:
        return self._complete and not self._chunks

    @property
    def reusable(self) -> bool:
        return self._complete and self._keep_alive and self._error is None

    def close(self) -> None:
        """Hand the connection back when the reply was read whole and may be kept alive; else drop it."""
        if self._released:
            return
        self._released = True
        self._connection.finish(self)
        # The parser holds this response as its callback target: without the break, every exchange would be
        # cyclic garbage, and the collector's passes cost several percent of a core under load.
        self.parser = None
