"""The pooled upstream HTTP client (one connection pool per worker) and the header rules around it.

The pool is the lean HTTP/1.1 client in `http1/` (asyncio.Protocol + httptools), chosen by measurement over
aiohttp and httpx (bench/README.md). It never decompresses (the gateway relays the bytes it received), keeps no
cookies, follows no redirects (they would carry the provider credential elsewhere) and reuses connections across
requests.
"""

from __future__ import annotations

import asyncio
import ssl

from gateway_api.core.settings import Settings
from gateway_api.providers.names import ProviderName
from gateway_api.providers.spec import PROVIDERS, EndpointKind
from gateway_api.proxy.http1 import ConnectionPool, UpstreamResponse
from gateway_api.proxy.http1.errors import ClientClosed

MAX_CONNECTIONS_PER_HOST = 4096  # 1,000 concurrent streams to one provider must not queue
KEEPALIVE_SECONDS = (
    15.0  # below the idle timeout of the providers' load balancers, so reuse rarely meets a closed socket
)
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

_DROPPED_RESPONSE_HEADERS = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authenticate",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        # The ASGI server writes its own; two Date headers confuse some clients.
        b"date",
        b"server",
        # The upstream's cookies, redirect targets and alternative services belong to its origin, not the gateway's.
        b"set-cookie",
        b"set-cookie2",
        b"location",
        b"alt-svc",
    }
)
# CORS is the gateway's own decision (GATEWAY_CORS_ORIGINS), never the upstream's.
_CORS_PREFIX = b"access-control-"
_ENCODING_HEADERS = (b"content-encoding", b"content-length")


class UpstreamClient:
    """Owns the worker's connection pool; `start()` and `close()` run in the app lifespan."""

    def __init__(self, settings: Settings, ssl_context: ssl.SSLContext | None = None) -> None:
        self._settings = settings
        self._ssl_context = ssl_context  # None: the system's trust store (tests pass their own CA)
        self._pool: ConnectionPool | None = None

    async def start(self) -> None:
        self._pool = ConnectionPool(
            connect_timeout=self._settings.upstream_connect_timeout,
            keepalive_seconds=KEEPALIVE_SECONDS,
            max_connections_per_host=MAX_CONNECTIONS_PER_HOST,
            ssl_context=self._ssl_context,
        )

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    async def send(self, method: str, url: str, header_block: bytes, body: bytes) -> UpstreamResponse:
        """Send the request and return once the response head arrived (within the first-byte timeout).

        `header_block` comes from `forward_headers`. Raises TimeoutError, or OSError (ConnectionError and
        friends) when the upstream cannot be reached or breaks the exchange."""
        # The first-byte limit is enforced around the pool, not around the caller: a slow client never counts.
        async with asyncio.timeout(self._settings.upstream_first_byte_timeout):
            return await self.request(method, url, header_block, body)

    async def request(self, method: str, url: str, header_block: bytes, body: bytes) -> UpstreamResponse:
        """`send` without a time limit of its own: the proxy bounds the whole exchange with one UpstreamDeadline."""
        pool = self._pool
        if pool is None:
            raise ClientClosed("the upstream client is not started")
        return await pool.request(method, url, header_block, body, send_length=method in _BODY_METHODS)


def forward_headers(raw_headers: list[tuple[bytes, bytes]], provider: ProviderName, credential: str) -> bytes:
    """The client headers the provider's allow-list names (ProviderSpec.forwarded_headers: never hop-by-hop ones,
    the gateway key, cookies or x-forwarded-*), plus the provider credential in its own header, as the
    CRLF-terminated header lines of the upstream request (ASGI header names are already lower case)."""
    spec = PROVIDERS[provider]
    allowed, prefixes = spec.forwarded_headers, spec.forwarded_header_prefixes
    lines = [
        b"%s: %s\r\n" % (name, value) for name, value in raw_headers if name in allowed or name.startswith(prefixes)
    ]
    # Ask for the body as-is: usage stays readable and the client never gets a coding it did not accept.
    lines.append(b"accept-encoding: identity\r\n")
    lines.append(b"%s: %s\r\n" % (spec.credential_header.encode(), spec.credential_value(credential).encode("latin-1")))
    return b"".join(lines)


def gateway_headers(provider: ProviderName, credential: str) -> bytes:
    """The header lines of a request the gateway makes on its own behalf (the message-policy judge): a JSON body,
    the provider's fixed headers (ProviderSpec.admin_headers: Anthropic's API version) and its credential header.
    No client header is involved, so nothing of a caller's reaches the provider."""
    spec = PROVIDERS[provider]
    lines = [b"content-type: application/json\r\n", b"accept: application/json\r\n"]
    lines.extend(
        b"%s: %s\r\n" % (name.encode("ascii"), value.encode("ascii")) for name, value in spec.admin_headers.items()
    )
    # The reply is parsed here: ask for it as-is, like a forwarded call.
    lines.append(b"accept-encoding: identity\r\n")
    lines.append(b"%s: %s\r\n" % (spec.credential_header.encode(), spec.credential_value(credential).encode("latin-1")))
    return b"".join(lines)


def relayed_headers(response: UpstreamResponse, *, drop_encoding: bool) -> list[tuple[bytes, bytes]]:
    """The upstream's response headers as the client should see them (request ids, rate limits, retry-after
    included). With `drop_encoding` the body is relayed decoded, so its coding and length headers go."""
    relayed: list[tuple[bytes, bytes]] = []
    for raw_name, value in response.raw_headers:
        name = raw_name.lower()
        if name in _DROPPED_RESPONSE_HEADERS or name.startswith(_CORS_PREFIX):
            continue
        if drop_encoding and name in _ENCODING_HEADERS:
            continue
        relayed.append((name, value))
    return relayed


def forwarded_query(provider: ProviderName, endpoint: EndpointKind, query: bytes) -> bytes:
    """The parameters of `query` the endpoint defines (ProviderSpec.query_params), as received; the rest is dropped
    (a gateway key or anything else a client put in the URL must not reach the provider)."""
    if not query:
        return b""
    allowed = PROVIDERS[provider].query_params.get(endpoint)
    if not allowed:
        return b""
    kept = [part for part in query.split(b"&") if part.partition(b"=")[0] in allowed]
    return b"&".join(kept)


def is_redirect(status: int) -> bool:
    """An upstream 3xx is never relayed: its Location would send the client (and its key) to another host."""
    return 300 <= status < 400
