"""The lean upstream client against a scripted loopback server: framing, reuse, retries, limits, cancellation."""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest

from gateway_api.proxy.http1 import ConnectionPool, UpstreamResponse, split_url
from tests.proxy.http1.scripted_server import ScriptedServer, SeenRequest, keep_replying, reply

HEADERS = b"content-type: application/json\r\nx-api-key: sk-upstream\r\n"


def make_pool(max_per_host: int = 64) -> ConnectionPool:
    return ConnectionPool(connect_timeout=5.0, keepalive_seconds=15.0, max_connections_per_host=max_per_host)


async def read_all(response: UpstreamResponse) -> bytes:
    parts = []
    while not response.content.at_eof():
        parts.append(await response.content.readany())
    response.close()
    return b"".join(parts)


async def post(pool: ConnectionPool, url: str, body: bytes = b'{"model":"m"}') -> UpstreamResponse:
    return await pool.request("POST", url, HEADERS, body, send_length=True)


def test_split_url_keeps_the_target_as_given() -> None:
    origin, target = split_url("https://api.example.com/v1/models?after_id=a%2Fb&limit=2")
    assert (origin.scheme, origin.host, origin.port, target) == (
        "https",
        "api.example.com",
        443,
        b"/v1/models?after_id=a%2Fb&limit=2",
    )
    assert origin.host_header == b"api.example.com"
    origin, _ = split_url("http://127.0.0.1:8080")
    assert origin.host_header == b"127.0.0.1:8080"
    with pytest.raises(ValueError):
        split_url("ftp://example.com/")


@pytest.mark.asyncio
async def test_content_length_reply_and_keep_alive_reuse() -> None:
    async with ScriptedServer(keep_replying(body=b'{"id":"msg_1"}')) as server:
        pool = make_pool()
        for _ in range(3):
            response = await post(pool, server.url())
            assert response.status == 200
            assert response.content_type == "application/json"
            assert response.headers.get("Content-Length") == "14"
            assert await read_all(response) == b'{"id":"msg_1"}'
        assert server.connections == 1, "the three requests should share one kept-alive connection"
        first = server.requests[0]
        assert first.request_line == b"POST /v1/messages HTTP/1.1"
        assert first.header(b"host") == b"127.0.0.1:%d" % server.port
        assert first.header(b"content-length") == b"13"
        assert first.header(b"x-api-key") == b"sk-upstream"
        assert first.body == b'{"model":"m"}'
        pool.close()


@pytest.mark.asyncio
async def test_chunked_reply_arrives_piece_by_piece() -> None:
    release = asyncio.Event()

    async def respond(request: SeenRequest, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        writer.write(b"6\r\nevent1\r\n")
        await writer.drain()
        await release.wait()
        writer.write(b"6\r\nevent2\r\n0\r\n\r\n")
        await writer.drain()
        return True

    async with ScriptedServer(respond) as server:
        pool = make_pool()
        response = await post(pool, server.url())
        assert response.content_type == "text/event-stream"
        assert await response.content.readany() == b"event1"
        assert not response.content.at_eof()
        release.set()
        assert await response.content.readany() == b"event2"
        assert await response.content.readany() == b""
        assert response.content.at_eof()
        response.close()
        release.clear()
        release.set()
        assert await read_all(await post(pool, server.url())) == b"event1event2"
        assert server.connections == 1
        pool.close()


@pytest.mark.asyncio
async def test_close_delimited_reply_ends_with_the_connection() -> None:
    async def respond(request: SeenRequest, writer: asyncio.StreamWriter) -> bool:
        writer.write(b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{"whole":')
        await writer.drain()
        writer.write(b"true}")
        return False  # closing the connection ends the body

    async with ScriptedServer(respond) as server:
        pool = make_pool()
        assert await read_all(await post(pool, server.url())) == b'{"whole":true}'
        assert await read_all(await post(pool, server.url())) == b'{"whole":true}'
        assert server.connections == 2, "a close-delimited reply's connection cannot be reused"
        pool.close()


@pytest.mark.asyncio
async def test_truncated_content_length_reply_is_an_error() -> None:
    async def respond(request: SeenRequest, writer: asyncio.StreamWriter) -> bool:
        writer.write(b'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"partial"')
        return False

    async with ScriptedServer(respond) as server:
        pool = make_pool()
        response = await post(pool, server.url())
        with pytest.raises(ConnectionError):
            await read_all(response)
        response.close()
        pool.close()


@pytest.mark.asyncio
@pytest.mark.parametrize("method,status", [("HEAD", 200), ("GET", 204), ("GET", 304)])
async def test_replies_without_body_complete_at_the_head(method: str, status: int) -> None:
    async def respond(request: SeenRequest, writer: asyncio.StreamWriter) -> bool:
        length = b"content-length: 1234\r\n" if method == "HEAD" else b""
        writer.write(b'HTTP/1.1 %d X\r\netag: "v1"\r\n%s\r\n' % (status, length))
        await writer.drain()
        return True

    async with ScriptedServer(respond) as server:
        pool = make_pool()
        for _ in range(2):
            response = await pool.request(method, server.url("/v1/models"), b"", b"", send_length=False)
            assert response.status == status
            assert response.headers.get("etag") == '"v1"'
            assert await read_all(response) == b""
        assert server.connections == 1
        assert server.requests[0].header(b"content-length") is None
        pool.close()


@pytest.mark.asyncio
async def test_interim_100_continue_is_skipped() -> None:
    async def respond(request: SeenRequest, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n" + reply(201, b"made", (b"x-final: yes",)))
        await writer.drain()
        return True

    async with ScriptedServer(respond) as server:
        pool = make_pool()
        response = await post(pool, server.url())
        assert (response.status, response.headers.get("x-final")) == (201, "yes")
        assert await read_all(response) == b"made"
        pool.close()


@pytest.mark.asyncio
async def test_pooled_connection_closed_by_the_server_is_replaced_before_writing() -> None:
    async def respond(request: SeenRequest, writer: asyncio.StreamWriter) -> bool:
        writer.write(reply(200, b"ok"))  # keep-alive announced, but the server closes right after
        await writer.drain()
        return False

    async with ScriptedServer(respond) as server:
        pool = make_pool()
        assert await read_all(await post(pool, server.url())) == b"ok"
        while server.closed_connections < 1:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # the close reaches the pooled connection
        assert await read_all(await post(pool, server.url())) == b"ok"
        assert server.connections == 2
        assert [r.connection for r in server.requests] == [0, 1], "each request went out exactly once"
        pool.close()


@pytest.mark.asyncio
async def test_written_post_that_gets_no_reply_is_not_retried() -> None:
    async def respond(request: SeenRequest, writer: asyncio.StreamWriter) -> bool:
        transport = writer.transport
        transport.abort()  # reset after reading the whole request: the provider may have started the call
        return False

    async with ScriptedServer(respond) as server:
        pool = make_pool()
        with pytest.raises(ConnectionError):
            await post(pool, server.url())
        assert len(server.requests) == 1
        pool.close()


@pytest.mark.asyncio
async def test_garbage_reply_is_a_protocol_error() -> None:
    async def respond(request: SeenRequest, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"SMTP ready\r\n\r\n")
        await writer.drain()
        return True

    async with ScriptedServer(respond) as server:
        pool = make_pool()
        with pytest.raises(ConnectionError):
            await post(pool, server.url())
        pool.close()


@pytest.mark.asyncio
async def test_cancelled_read_drops_the_connection() -> None:
    async def respond(request: SeenRequest, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nfirst\r\n")
        await writer.drain()
        await asyncio.sleep(30)  # the rest never comes in time
        return True

    async with ScriptedServer(respond) as server:
        pool = make_pool()
        response = await post(pool, server.url())
        assert await response.content.readany() == b"first"
        reading = asyncio.create_task(response.content.readany())
        await asyncio.sleep(0.05)
        reading.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reading
        response.close()
        host = pool.host(split_url(server.url())[0])
        assert host.open == 0 and not host.idle, "a half-read connection must never go back to the pool"
        pool.close()


@pytest.mark.asyncio
async def test_cancelled_wait_for_the_head_drops_the_connection() -> None:
    async def respond(request: SeenRequest, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(30)
        return False

    async with ScriptedServer(respond) as server:
        pool = make_pool()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await post(pool, server.url())
        host = pool.host(split_url(server.url())[0])
        assert host.open == 0 and not host.idle
        pool.close()


@pytest.mark.asyncio
async def test_unread_body_pauses_the_socket() -> None:
    total = 48 * 1024 * 1024  # more than loopback socket buffers hold
    written = 0

    async def respond(request: SeenRequest, writer: asyncio.StreamWriter) -> bool:
        nonlocal written
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % total)
        block = b"x" * 65536
        while written < total:
            writer.write(block)
            await writer.drain()
            written += len(block)
        return True

    async with ScriptedServer(respond) as server:
        pool = make_pool()
        response = await post(pool, server.url())
        await asyncio.sleep(0.5)  # the client reads nothing meanwhile
        assert written < total, "the upstream could write everything: the client kept reading into memory"
        received = 0
        while not response.content.at_eof():
            received += len(await response.content.readany())
        assert received == total
        response.close()
        pool.close()


@pytest.mark.asyncio
async def test_connections_per_host_are_capped() -> None:
    async def respond(request: SeenRequest, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.05)
        writer.write(reply(200, b"ok"))
        await writer.drain()
        return True

    async with ScriptedServer(respond) as server:
        pool = make_pool(max_per_host=1)

        async def call() -> bytes:
            return await read_all(await post(pool, server.url()))

        assert await asyncio.gather(call(), call(), call()) == [b"ok", b"ok", b"ok"]
        assert server.connections == 1
        assert len(server.requests) == 3
        pool.close()


@pytest.mark.asyncio
async def test_unreachable_upstream_is_an_os_error() -> None:
    async with ScriptedServer(keep_replying()) as server:
        url = server.url()
    pool = make_pool()
    with pytest.raises(OSError):
        await post(pool, url)
    pool.close()


@pytest.mark.asyncio
async def test_a_closed_response_is_freed_without_the_cycle_collector() -> None:
    """One response per call: left in a cycle with its parser, each would wait for (and feed) the cyclic GC."""
    async with ScriptedServer(keep_replying(body=b'{"id":"msg_1"}')) as server:
        pool = make_pool()
        gc.disable()
        try:
            response = await post(pool, server.url())
            assert await read_all(response) == b'{"id":"msg_1"}'
            freed = weakref.ref(response)
            del response
            assert freed() is None
        finally:
            gc.enable()
            pool.close()
