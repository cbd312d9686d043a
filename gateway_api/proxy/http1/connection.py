"""One keep-alive HTTP/1.1 connection to an upstream, as an asyncio.Protocol (plain TCP or asyncio's TLS).

One exchange at a time: `begin()` writes a request and returns its response; the response's `close()` calls
`finish()`, which returns the connection to its host pool only when the reply was read whole and may be kept
alive, and otherwise aborts it (a half-read reply must never be read by the next request).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, cast

import httptools

from gateway_api.proxy.http1.response import UpstreamResponse

if TYPE_CHECKING:
    from gateway_api.proxy.http1.pool import HostPool

# Bodies below this go out in the same write as the head (one syscall); larger ones are not copied.
COALESCE_BODY_BYTES = 64 * 1024


class UpstreamConnection(asyncio.Protocol):
    def __init__(self, loop: asyncio.AbstractEventLoop, host: HostPool) -> None:
        self.loop = loop
        self.host = host
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self.reused = False  # served an exchange before (a stale keep-alive connection is possible)
        self._response: UpstreamResponse | None = None

    # -- asyncio.Protocol -------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's

    def data_received(self, data: bytes) -> None:
        response = self._response
        parser = response.parser if response is not None else None
        if response is None or parser is None:
            self.abort()  # bytes nobody asked for: the connection's framing cannot be trusted any more
            return
        try:
            parser.feed_data(data)
        except httptools.HttpParserError as exc:
            response.parse_failed(exc)
            self.abort()

    def eof_received(self) -> bool:
        return False  # half-closed by the upstream: close our side too; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        response = self._response
        if response is not None:
            response.connection_lost(exc)
        else:
            self.host.forget(self)  # died while idle in the pool

    # -- exchanges --------------------------------------------------------------------------------

    @property
    def usable(self) -> bool:
        transport = self.transport
        return not self.closed and transport is not None and not transport.is_closing()

    def begin(self, head: bytes, body: bytes, *, head_only: bool) -> UpstreamResponse:
        assert self.transport is not None and self._response is None
        response = UpstreamResponse(self, head_only=head_only)
        self._response = response
        if len(body) < COALESCE_BODY_BYTES:
            self.transport.write(head + body if body else head)
        else:
            self.transport.write(head)
            self.transport.write(body)
        return response

    def finish(self, response: UpstreamResponse) -> None:
        if response is not self._response:
            return
        self._response = None
        if response.reusable and self.usable:
            self.reused = True
            self.host.release(self)
        else:
            self.abort()
            self.host.forget(self)

    def pause_reading(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.resume_reading()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()
