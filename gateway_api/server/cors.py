"""Cross-origin access (CORS): off unless GATEWAY_CORS_ORIGINS lists origins.

Without it a browser lets no other web page read the gateway's answers or send it non-simple requests (JSON bodies,
an Authorization header), so a page a user happens to visit cannot drive the intranet gateway from their browser.
Listed origins are answered exactly (never ``*``) and without credentials: the gateway authenticates with bearer
keys, not cookies.
"""

from __future__ import annotations

from typing import cast

from starlette.middleware.cors import CORSMiddleware

from gateway_api.server.asgi import ASGIApp


def with_cors(app: ASGIApp, origins: list[str]) -> ASGIApp:
    """`app` as it is when no origin is listed; else behind a CORS layer that answers only those origins."""
    if not origins:
        return app
    layer = CORSMiddleware(
        app,
        allow_origins=origins,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["*"],
        allow_credentials=False,
    )
    return cast(ASGIApp, layer)
