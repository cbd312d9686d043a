"""Headers every UI response carries: a Content-Security-Policy, no framing, no MIME sniffing, a referrer policy.

The pages are Reflex's built React app: scripts and styles from the same origin (Reflex needs inline scripts and
eval, so the policy's worth is in what it forbids besides: other origins, plugins, framing, base and form
targets), Radix's inline styles, and one websocket back to the same server (`connect-src 'self'` covers ws:// and wss:// to it). Nothing may frame a page
(clickjacking), nothing loads from elsewhere, forms post only here.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP_DIRECTIVES = [
    "default-src 'self'",
    # Reflex's HTML boots with a small inline script (the router's hydration data), and its client runs the
    # scripts the server sends (toasts, clipboard, rx.call_script) with eval.
    "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
]
CONTENT_SECURITY_POLICY = "; ".join(CSP_DIRECTIVES)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)
_NAMES = frozenset(name for name, _ in SECURITY_HEADERS)


def with_security_headers(app: ASGIApp) -> ASGIApp:
    """`app` with SECURITY_HEADERS on every HTTP response (replacing any it set itself)."""

    async def secured(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(n, v) for n, v in message.get("headers", []) if n.lower() not in _NAMES]
                message = {**message, "headers": [*headers, *SECURITY_HEADERS]}
            await send(message)

        await app(scope, receive, send_secured)

    return secured
