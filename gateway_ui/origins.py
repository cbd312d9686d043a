"""Which pages may open the UI's websocket: its own origin, GATEWAY_PUBLIC_URL's and GATEWAY_CORS_ORIGINS.

Reflex hands its socket server the CORS list, and an empty list turns the socket's origin check off altogether (any
web page could open a socket to the UI server). This check replaces it: same host as the request, or listed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from gateway_api.core.settings import Settings

OriginCheck = Callable[[str | None, Mapping[str, Any]], bool]


def socket_origin_check(settings: Settings) -> OriginCheck:
    listed = set(settings.cors_origin_list)
    if settings.public_url:
        parts = urlsplit(settings.public_url)
        listed.add(f"{parts.scheme}://{parts.netloc}")

    def allowed(origin: str | None, environ: Mapping[str, Any]) -> bool:
        if not origin:
            return True  # not a browser: the origin check protects browsers' users only
        if origin.rstrip("/") in listed:
            return True
        # The page's own origin; a TLS proxy in front may change the scheme, never the host a browser names.
        host = str(environ.get("HTTP_HOST", "")).lower()
        return bool(host) and urlsplit(origin).netloc.lower() == host

    return allowed
