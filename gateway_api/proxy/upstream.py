"""The pooled upstream HTTP client (one aiohttp session per worker) and the header rules around it.

aiohttp rather than httpx: under concurrency httpx's pool dominated the CPU profile (see perf-notes.md).
The session never decompresses (the gateway relays the bytes it received), keeps no cookies, follows no
redirects (they would carry the provider credential elsewhere) and reuses connections across requests.
"""

from __future__ import annotations

import asyncio

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from gateway_api.proxy.providers import ProviderName
from gateway_api.settings import Settings

MAX_CONNECTIONS = 4096
KEEPALIVE_SECONDS = (
    15.0  # below the idle timeout of the providers' load balancers, so reuse rarely meets a closed socket
)
READ_BUFFER_BYTES = 1 << 16

# Headers that describe one connection, not the message (RFC 9110 7.6.1), plus those the client library
# computes itself. Both gateway-key headers go too: the caller's key must never reach the provider.
_DROPPED_REQUEST_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "proxy-authenticate",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "expect",  # the body is already read; a 100-continue handshake upstream would only stall
        "accept-encoding",
        "authorization",
        "x-api-key",
    }
)
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
    }
)


class UpstreamClient:
    """Owns the worker's aiohttp session; `start()` and `close()` run in the app lifespan."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            limit=MAX_CONNECTIONS,
            limit_per_host=0,
            ttl_dns_cache=300,
            keepalive_timeout=KEEPALIVE_SECONDS,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            # First byte and idle limits are enforced by the caller, so a slow client never counts against them.
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=self._settings.upstream_connect_timeout),
            skip_auto_headers=("User-Agent",),
            read_bufsize=READ_BUFFER_BYTES,
            trust_env=False,
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, method: str, url: str, headers: CIMultiDict[str], body: bytes) -> aiohttp.ClientResponse:
        """Send the request and return once the response head arrived (within the first-byte timeout).

        Raises TimeoutError, or aiohttp.ClientError when the upstream cannot be reached."""
        if self._session is None:
            raise aiohttp.ClientConnectionError("the upstream client is not started")
        async with asyncio.timeout(self._settings.upstream_first_byte_timeout):
            return await self._session.request(
                method,
                URL(url, encoded=True),  # the query string goes out exactly as the client sent it
                headers=headers,
                data=body or None,
                allow_redirects=False,
                compress=None,
            )


def forward_headers(
    raw_headers: list[tuple[bytes, bytes]], provider: ProviderName, credential: str
) -> CIMultiDict[str]:
    """The client's headers minus hop-by-hop and auth ones, plus the provider credential in its own header."""
    headers: CIMultiDict[str] = CIMultiDict()
    for raw_name, raw_value in raw_headers:
        name = raw_name.decode("latin-1").lower()
        if name not in _DROPPED_REQUEST_HEADERS and not name.startswith("proxy-"):
            headers.add(name, raw_value.decode("latin-1"))
    # Ask for the body as-is: usage stays readable and the client never gets a coding it did not accept.
    headers["accept-encoding"] = "identity"
    if provider == "anthropic":
        headers["x-api-key"] = credential
    else:
        headers["authorization"] = f"Bearer {credential}"
    return headers


def relayed_headers(response: aiohttp.ClientResponse, *, drop_encoding: bool) -> list[tuple[bytes, bytes]]:
    """The upstream's response headers as the client should see them (request ids, rate limits, retry-after
    included). With `drop_encoding` the body is relayed decoded, so its coding and length headers go."""
    relayed: list[tuple[bytes, bytes]] = []
    for raw_name, value in response.raw_headers:
        name = raw_name.lower()
        if name in _DROPPED_RESPONSE_HEADERS:
            continue
        if drop_encoding and name in (b"content-encoding", b"content-length"):
            continue
        relayed.append((name, value))
    return relayed
