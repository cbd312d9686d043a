"""A lean HTTP/1.1 upstream client for the proxy hot path: keep-alive pools over asyncio.Protocol, httptools parsing."""

from gateway_api.proxy.http1.errors import ClientClosed, UpstreamClosed, UpstreamProtocolError
from gateway_api.proxy.http1.pool import ConnectionPool, Origin, split_url
from gateway_api.proxy.http1.response import ResponseHeaders, UpstreamResponse

__all__ = [
    "ClientClosed",
    "ConnectionPool",
    "Origin",
    "ResponseHeaders",
    "UpstreamClosed",
    "UpstreamProtocolError",
    "UpstreamResponse",
    "split_url",
]
