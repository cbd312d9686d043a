"""UpstreamClient (the proxy's pooled client) and its header rules, against a scripted loopback server."""

from __future__ import annotations

import asyncio

import pytest

from gateway_api.core.settings import Settings
from gateway_api.proxy.upstream import UpstreamClient, forward_headers, gateway_headers, relayed_headers
from tests.proxy.http1.scripted_server import ScriptedServer, SeenRequest, keep_replying, reply
from tests.proxy.http1.test_pool import read_all

CLIENT_HEADERS = [
    (b"host", b"gateway.example"),
    (b"content-type", b"application/json"),
    (b"content-length", b"13"),
    (b"connection", b"keep-alive"),
    (b"x-api-key", b"gwk_caller_secret"),
    (b"authorization", b"Bearer gwk_caller_secret"),
    (b"proxy-foo", b"x"),
    (b"accept-encoding", b"gzip"),
    (b"anthropic-version", b"2023-06-01"),
    (b"anthropic-beta", b"a"),
    (b"anthropic-beta", b"b"),
]


def test_forward_headers_drop_hop_by_hop_and_caller_keys() -> None:
    block = forward_headers(CLIENT_HEADERS, "anthropic", "sk-ant-upstream")
    assert block == (
        b"content-type: application/json\r\n"
        b"anthropic-version: 2023-06-01\r\n"
        b"anthropic-beta: a\r\n"
        b"anthropic-beta: b\r\n"
        b"accept-encoding: identity\r\n"
        b"x-api-key: sk-ant-upstream\r\n"
    )
    openai = forward_headers(CLIENT_HEADERS, "openai", "sk-openai")
    assert openai.endswith(b"authorization: Bearer sk-openai\r\n")
    assert b"gwk_" not in openai


def test_gateway_headers_carry_the_provider_headers_and_credential_only() -> None:
    assert gateway_headers("anthropic", "sk-ant-upstream") == (
        b"content-type: application/json\r\n"
        b"accept: application/json\r\n"
        b"anthropic-version: 2023-06-01\r\n"
        b"accept-encoding: identity\r\n"
        b"x-api-key: sk-ant-upstream\r\n"
    )
    assert gateway_headers("openai", "sk-openai") == (
        b"content-type: application/json\r\n"
        b"accept: application/json\r\n"
        b"accept-encoding: identity\r\n"
        b"authorization: Bearer sk-openai\r\n"
    )


@pytest.mark.asyncio
async def test_send_relays_status_headers_and_body(settings: Settings) -> None:
    async def respond(request: SeenRequest, writer: asyncio.StreamWriter) -> bool:
        headers = (b"Request-Id: req_1", b"Connection: keep-alive", b"Date: today", b"content-type: application/json")
        writer.write(reply(201, b'{"ok":1}', headers))
        await writer.drain()
        return True

    async with ScriptedServer(respond) as server:
        client = UpstreamClient(settings)
        await client.start()
        header_block = forward_headers(CLIENT_HEADERS, "anthropic", "sk-ant-upstream")
        response = await client.send("POST", server.url("/v1/messages?beta=true"), header_block, b'{"model":"m"}')
        assert response.status == 201
        assert response.headers.get("request-id") == "req_1"
        assert relayed_headers(response, drop_encoding=False) == [
            (b"request-id", b"req_1"),
            (b"content-type", b"application/json"),
            (b"content-length", b"8"),
        ]
        assert await read_all(response) == b'{"ok":1}'
        seen = server.requests[0]
        assert seen.request_line == b"POST /v1/messages?beta=true HTTP/1.1"
        assert seen.header(b"x-api-key") == b"sk-ant-upstream"
        assert seen.header(b"content-length") == b"13"
        await client.close()


@pytest.mark.asyncio
async def test_first_byte_timeout(settings: Settings) -> None:
    async def respond(request: SeenRequest, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(30)
        return False

    async with ScriptedServer(respond) as server:
        client = UpstreamClient(settings.model_copy(update={"upstream_first_byte_timeout": 0.2}))
        await client.start()
        with pytest.raises(TimeoutError):
            await client.send("POST", server.url(), b"", b"{}")
        await client.close()


@pytest.mark.asyncio
async def test_closed_client_refuses_to_send(settings: Settings) -> None:
    async with ScriptedServer(keep_replying()) as server:
        client = UpstreamClient(settings)
        await client.start()
        await client.close()
        with pytest.raises(ConnectionError):
            await client.send("POST", server.url(), b"", b"{}")
        assert server.requests == []
