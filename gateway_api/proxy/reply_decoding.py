"""Whether the gateway decodes an upstream reply before relaying it (the client did not accept its coding, or the
gateway must read the relayed bytes)."""

from __future__ import annotations

from gateway_api.proxy.asgi_io import accepts_encoding, header_value
from gateway_api.proxy.content_decoding import DecodeLimits, StreamDecoder, UnsupportedEncodingError, make_decoder
from gateway_api.proxy.http1 import UpstreamResponse
from gateway_api.server.asgi import Scope


def encoded(response: UpstreamResponse) -> bool:
    return (response.headers.get("content-encoding") or "identity").strip().lower() != "identity"


def decoder_for_client(
    scope: Scope, response: UpstreamResponse, limits: DecodeLimits, *, must_decode: bool
) -> StreamDecoder | None:
    """The upstream was asked for `identity`; if it encoded anyway with a coding the client did not accept (or the
    gateway must read the relayed bytes), the gateway decodes. With no decoder for it the bytes go as they are, as a
    transparent proxy would."""
    coding = response.headers.get("content-encoding")
    if not coding or coding.strip().lower() == "identity":
        return None
    if not must_decode and accepts_encoding(header_value(scope, b"accept-encoding"), coding):
        return None
    try:
        return make_decoder(coding, limits)
    except UnsupportedEncodingError:
        return None
