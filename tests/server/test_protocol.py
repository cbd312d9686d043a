"""`gateway serve`'s HTTP protocol: uvicorn's, with a response head and the body part after it in one write."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from gateway_api.server.asgi import Receive, Scope, Send
from gateway_api.server.protocol import CombinedWritesHttpProtocol, WriteCombiningTransport
from tests.support.live import free_port


class RecordingTransport(asyncio.Transport):
    """A transport that keeps what was written, call by call (one entry per system call a socket would make)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[bytes, ...]] = []
        self.closed = False
        self.aborted = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.calls.append((bytes(data),))

    def writelines(self, list_of_data: object) -> None:
        self.calls.append(tuple(bytes(data) for data in list_of_data))  # type: ignore[attr-defined]

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_extra_info(self, name: str, default: object = None) -> object:
        return "extra:" + name


@pytest.mark.asyncio
async def test_a_head_and_the_body_after_it_leave_in_one_call() -> None:
    transport = RecordingTransport()
    combining = WriteCombiningTransport(transport, asyncio.get_running_loop())
    combining.write(b"HTTP/1.1 200 OK\r\n\r\n")
    assert transport.calls == [], "the head waits for what follows it"
    combining.write(b"body")
    assert transport.calls == [(b"HTTP/1.1 200 OK\r\n\r\n", b"body")]


@pytest.mark.asyncio
async def test_a_lone_write_goes_out_on_the_next_loop_turn() -> None:
    transport = RecordingTransport()
    combining = WriteCombiningTransport(transport, asyncio.get_running_loop())
    combining.write(b"event: ping\n\n")
    await asyncio.sleep(0)
    assert transport.calls == [(b"event: ping\n\n",)]
    await asyncio.sleep(0)
    assert transport.calls == [(b"event: ping\n\n",)], "flushed once only"


@pytest.mark.asyncio
async def test_close_flushes_first_abort_drops_and_the_rest_passes_through() -> None:
    loop = asyncio.get_running_loop()
    transport = RecordingTransport()
    combining = WriteCombiningTransport(transport, loop)
    combining.write(b"last words")
    combining.close()
    assert (transport.calls, transport.closed) == ([(b"last words",)], True)

    transport = RecordingTransport()
    combining = WriteCombiningTransport(transport, loop)
    combining.write(b"never sent")
    combining.abort()
    await asyncio.sleep(0)
    assert (transport.calls, transport.aborted) == ([], True)
    assert combining.get_extra_info("peername") == "extra:peername"


def asgi_app_streaming(parts: list[bytes], part_read: threading.Event) -> object:
    """Sends each part only once the client has read the one before: a part held back would stall the stream."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        for part in parts:
            part_read.clear()
            await send({"type": "http.response.body", "body": part, "more_body": True})
            for _ in range(1000):  # up to ~10 s, then go on (the client's assertions fail)
                if part_read.is_set():
                    break
                await asyncio.sleep(0.01)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    return app


PARTS = [b"first ", b"second ", b"third"]


@pytest.fixture
def served_stream() -> Iterator[tuple[int, threading.Event]]:
    port = free_port()
    part_read = threading.Event()
    config = uvicorn.Config(
        asgi_app_streaming(PARTS, part_read),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http=CombinedWritesHttpProtocol,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline
        time.sleep(0.02)
    yield port, part_read
    server.should_exit = True
    thread.join(timeout=30)


def test_streamed_parts_arrive_one_by_one_over_keep_alive(served_stream: tuple[int, threading.Event]) -> None:
    port, part_read = served_stream
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        for _ in range(2):  # the same connection twice: framing stays intact
            connection.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            received = b""
            for part in PARTS:
                while part not in received:
                    chunk = connection.recv(65536)  # times out if the part was held back
                    assert chunk, "the server closed the connection"
                    received += chunk
                part_read.set()
            while not received.endswith(b"0\r\n\r\n"):
                received += connection.recv(65536)
            head, _, body = received.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 OK")
            assert b"transfer-encoding: chunked" in head.lower()
            assert body == b"6\r\nfirst \r\n7\r\nsecond \r\n5\r\nthird\r\n0\r\n\r\n"
