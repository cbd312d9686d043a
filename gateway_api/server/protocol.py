"""uvicorn's httptools protocol, with a response head and the body part that follows it sent in one system call.

uvicorn writes a response head as soon as the app sends `http.response.start` and each body part as it comes,
one `write` each. On loopback and on VMs a socket write is the most expensive step of a proxied call (it runs
the peer's TCP receive path and wakes it; bench/README.md has the figures). Here a write is held back until the
next one, which then leaves together with it in one `writev`; a write that no other follows in the same event-loop
turn is flushed at the start of the next turn (`call_soon`), so nothing waits longer than that. `close()` flushes first; `abort()` drops what is held.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class WriteCombiningTransport:
    """Wraps the server's transport for one connection; everything but writing is passed through."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        held = self._held
        if held is None:
            self._held = bytes(data)
            self._loop.call_soon(self.flush)
            return
        self._held = None
        if not self._transport.is_closing():
            self._transport.writelines((held, data))

    def writelines(self, lines: Iterable[bytes | bytearray | memoryview]) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        held = self._held
        if held is None:
            return
        self._held = None
        if not self._transport.is_closing():  # else the connection is gone: there is no one to write to
            self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + len(self._held or b"")

    def __getattr__(self, name: str) -> Any:
        # get_extra_info, pause_reading, resume_reading, set_protocol, ...: the real transport's own.
        return getattr(self._transport, name)


class CombinedWritesHttpProtocol(HttpToolsProtocol):
    """`gateway serve`'s HTTP protocol: uvicorn's httptools implementation over a WriteCombiningTransport."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # uvicorn narrows it too
        # Not a Transport subclass on purpose: Transport's own methods would bypass the pass-through __getattr__.
        super().connection_made(WriteCombiningTransport(transport, self.loop))  # type: ignore[arg-type]  # duck-typed
