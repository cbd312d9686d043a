"""Checks of a proxied request that need no body, made before a byte of it is read."""

from __future__ import annotations

from gateway_api.proxy.refusal import Refusal
from gateway_api.server.asgi import Scope

_IDENTITY = b"identity"


def refuse_encoded_body(scope: Scope) -> None:
    """A compressed request body is refused (415): the model would be read from bytes the provider decodes into
    something else, and Content-Encoding is not forwarded anyway."""
    for name, value in scope["headers"]:
        if name == b"content-encoding":
            codings = [c.strip().lower() for c in value.split(b",")]
            if any(c and c != _IDENTITY for c in codings):
                raise Refusal(415, "compressed request bodies are not accepted; send the body without Content-Encoding")
