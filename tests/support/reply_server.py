"""A loopback HTTP server that answers every request with the reply a test set: status, headers and body, the body
sent as chunked transfer encoding in the pieces given (so a client reads a stream the way a proxy relays it)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass(slots=True)
class CannedReply:
    status: int = 200
    headers: Sequence[tuple[bytes, bytes]] = ()
    chunks: Sequence[bytes] = ()


@dataclass(slots=True)
class ReplyServer:
    url: str
    reply: CannedReply = field(default_factory=CannedReply)
    paths: list[str] = field(default_factory=list)

    def answer(self, status: int, headers: Sequence[tuple[bytes, bytes]], *chunks: bytes) -> None:
        self.reply = CannedReply(status, headers, chunks)


def _handler(server: ReplyServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            self.rfile.read(length)
            server.paths.append(self.path)
            reply = server.reply
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name.decode("latin-1"), value.decode("latin-1"))
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            for chunk in reply.chunks:
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        do_POST = _answer
        do_GET = _answer

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the tests assert on what the clients read."""

    return Handler


@pytest.fixture
def reply_server() -> Iterator[ReplyServer]:
    state = ReplyServer(url="")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, name="reply-server", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)
