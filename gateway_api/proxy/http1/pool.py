"""Keep-alive connection pools per upstream origin, and sending one request over them.

Why not aiohttp or httpx: their clients took a large share of the proxy's CPU; this pool plus httptools parsing
does the same work for a fraction (bench/README.md). It does only what the proxy needs:
HTTP/1.1, TLS through asyncio's ssl transports, keep-alive reuse (newest idle connection first), a cap on
connections per origin, idle expiry, and one safe retry.

Retry rule: provider POSTs are not idempotent, so a request is re-sent on another connection only when the
pooled one was found closed before a byte of the request was written. Once written, any failure is reported,
never retried: the provider may have started (and billed) the call.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from dataclasses import dataclass
from urllib.parse import urlsplit

from gateway_api.proxy.http1.connection import UpstreamConnection
from gateway_api.proxy.http1.errors import ClientClosed
from gateway_api.proxy.http1.response import UpstreamResponse

DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_CACHED_TARGETS = 1024


@dataclass(frozen=True, slots=True)
class Origin:
    scheme: str
    host: str
    port: int

    @property
    def host_header(self) -> bytes:
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port != DEFAULT_PORTS[self.scheme]:
            host = f"{host}:{self.port}"
        return host.encode("idna" if not host.isascii() else "ascii")


def split_url(url: str) -> tuple[Origin, bytes]:
    """(origin, request target) of an absolute http(s) URL; the path and query go out exactly as given."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    origin = Origin(scheme, parts.hostname, parts.port or DEFAULT_PORTS[scheme])
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return origin, target.encode("latin-1")


class HostPool:
    """Connections to one origin: at most `max_connections` open (idle, busy or connecting) at once."""

    def __init__(self, pool: ConnectionPool, origin: Origin) -> None:
        self.pool = pool
        self.origin = origin
        self.idle: deque[UpstreamConnection] = deque()
        self.open = 0
        self._counted: set[UpstreamConnection] = set()  # the connections included in `open`
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> UpstreamConnection:
        loop = asyncio.get_running_loop()
        expired_before = loop.time() - self.pool.keepalive_seconds
        while self.idle:
            connection = self.idle.pop()  # the newest is the least likely to have been closed by the server
            if connection.usable and connection.idle_since > expired_before:
                return connection
            connection.abort()
            self.forget(connection)
        while self.open >= self.pool.max_connections_per_host:
            waiter = loop.create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
            if self.idle:
                return await self.acquire()
        return await self._connect(loop)

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> UpstreamConnection:
        self.open += 1
        origin = self.origin
        try:
            async with asyncio.timeout(self.pool.connect_timeout):
                _, connection = await loop.create_connection(
                    lambda: UpstreamConnection(loop, self),
                    origin.host,
                    origin.port,
                    ssl=self.pool.ssl_context if origin.scheme == "https" else None,
                    server_hostname=origin.host if origin.scheme == "https" else None,
                )
        except BaseException:
            self.open -= 1
            self._wake_one()
            raise
        self._counted.add(connection)
        return connection

    def release(self, connection: UpstreamConnection) -> None:
        if self.pool.closed:
            connection.abort()
            self.forget(connection)
            return
        now = connection.loop.time()
        connection.idle_since = now
        self.idle.append(connection)
        # Expire the oldest idle connections here, so an idle pool does not keep sockets open for ever.
        expired_before = now - self.pool.keepalive_seconds
        while self.idle and self.idle[0].idle_since <= expired_before:
            stale = self.idle.popleft()
            stale.abort()
            self.forget(stale)
        self._wake_one()

    def forget(self, connection: UpstreamConnection) -> None:
        """The connection is gone (or going): it no longer counts against the cap. Safe to call twice."""
        if connection in self._counted:
            self._counted.discard(connection)
            self.open -= 1
            self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def close(self) -> None:
        while self.idle:
            connection = self.idle.popleft()
            connection.abort()
            self.forget(connection)
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(ClientClosed("the upstream client is closed"))


class ConnectionPool:
    def __init__(
        self,
        *,
        connect_timeout: float,
        keepalive_seconds: float,
        max_connections_per_host: int,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.connect_timeout = connect_timeout
        self.keepalive_seconds = keepalive_seconds
        self.max_connections_per_host = max_connections_per_host
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.closed = False
        self._hosts: dict[Origin, HostPool] = {}
        # URL -> (its host's pool, the request line's start), so urllib does not parse every call's URL. Bounded,
        # cleared when full, as query strings come from clients.
        self._targets: dict[tuple[str, str], tuple[HostPool, bytes]] = {}

    def host(self, origin: Origin) -> HostPool:
        host = self._hosts.get(origin)
        if host is None:
            host = self._hosts[origin] = HostPool(self, origin)
        return host

    async def request(
        self, method: str, url: str, header_block: bytes, body: bytes, *, send_length: bool
    ) -> UpstreamResponse:
        """Write one request and return its response once the head has arrived.

        `header_block` is the request's header lines (each ending in CRLF), without Host and Content-Length."""
        if self.closed:
            raise ClientClosed("the upstream client is closed")
        host, request_start = self._target(method, url)
        head = request_start + header_block
        if send_length or body:
            head += b"content-length: %d\r\n" % len(body)
        head += b"\r\n"
        while True:
            connection = await host.acquire()
            if connection.usable:
                break
            # Closed between the pool and the write: nothing was sent, so another connection is safe.
            connection.abort()
            host.forget(connection)
        response = connection.begin(head, body, head_only=method == "HEAD")
        try:
            await response.wait_head()
        except BaseException:
            response.close()  # cancelled or failed: the connection is dropped, never pooled
            raise
        return response

    def _target(self, method: str, url: str) -> tuple[HostPool, bytes]:
        """The URL's host pool and the request's first lines (request line and Host header)."""
        known = self._targets.get((method, url))
        if known is not None:
            return known
        origin, target = split_url(url)
        host = self.host(origin)
        request_start = b"%s %s HTTP/1.1\r\nhost: %s\r\n" % (method.encode("ascii"), target, origin.host_header)
        if len(self._targets) >= MAX_CACHED_TARGETS:
            self._targets.clear()
        self._targets[(method, url)] = (host, request_start)
        return host, request_start

    def close(self) -> None:
        self.closed = True
        self._targets.clear()
        for host in self._hosts.values():
            host.close()
        self._hosts.clear()
