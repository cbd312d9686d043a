"""A loopback HTTP/1.1 server whose replies each test scripts byte by byte (framing, closes, resets, TLS)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Self


@dataclass
class SeenRequest:
    connection: int  # which accepted connection (0, 1, ...) carried it
    head: bytes
    body: bytes

    @property
    def request_line(self) -> bytes:
        return self.head.split(b"\r\n", 1)[0]

    def header(self, name: bytes) -> bytes | None:
        for line in self.head.split(b"\r\n")[1:]:
            key, _, value = line.partition(b":")
            if key.strip().lower() == name:
                return value.strip()
        return None


# (request, writer) -> True to keep the connection for another request, False to close it.
Responder = Callable[[SeenRequest, asyncio.StreamWriter], Awaitable[bool]]


@dataclass
class ScriptedServer:
    respond: Responder
    ssl_context: ssl.SSLContext | None = None
    requests: list[SeenRequest] = field(default_factory=list)
    connections: int = 0
    closed_connections: int = 0
    _server: asyncio.Server | None = None

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.ssl_context)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    def url(self, path: str = "/v1/messages") -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number = self.connections
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                request = SeenRequest(number, head, b"")
                length = request.header(b"content-length")
                if length:
                    request.body = await reader.readexactly(int(length))
                self.requests.append(request)
                if not await self.respond(request, writer):
                    return
        finally:
            self.closed_connections += 1
            writer.close()


def reply(status: int, body: bytes = b"", headers: tuple[bytes, ...] = ()) -> bytes:
    lines = [b"HTTP/1.1 %d X" % status, *headers, b"content-length: %d" % len(body)]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def keep_replying(status: int = 200, body: bytes = b'{"ok":true}') -> Responder:
    async def respond(request: SeenRequest, writer: asyncio.StreamWriter) -> bool:
        writer.write(reply(status, body, (b"content-type: application/json",)))
        await writer.drain()
        return True

    return respond
