"""The CLI's single sign-on: the browser on this machine with a loopback redirect (like `gh auth login`), or a short
code confirmed in any browser when none can be opened (`--no-browser`, RFC 8628's device flow)."""

from __future__ import annotations

import base64
import hashlib
import http.server
import secrets
import threading
import time
import webbrowser
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from gateway_api.cli.api_calls import call, detail_of
from gateway_api.cli.terminal import fail, say, stdout_to_stderr

BROWSER_WAIT_SECONDS = 300.0
DONE_PAGE = (
    b"<!doctype html><html><head><meta charset='utf-8'><title>Signed in - LLM Gateway</title></head>"
    b"<body style='font-family:system-ui,sans-serif;margin:3rem'><h1>Signed in</h1>"
    b"<p data-testid='cli-done'>The gateway CLI has its key. You can close this tab and go back to the terminal.</p>"
    b"</body></html>"
)


def sign_in(client: httpx.Client, wish: dict[str, Any], *, no_browser: bool) -> dict[str, Any]:
    if not no_browser:
        answer = browser_sign_in(client, wish)
        if answer is not None:
            return answer
        say("No browser could be opened here; sign in from any browser instead.")
    return device_sign_in(client, wish)


class _Callback(http.server.BaseHTTPRequestHandler):
    """Answers the browser's one request to the loopback address the gateway redirected it to."""

    server: _LoopbackServer

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        code = parse_qs(parts.query).get("code", [""])[0]
        if parts.path != self.server.expected_path or not code:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(DONE_PAGE)))
        self.end_headers()
        self.wfile.write(DONE_PAGE)
        self.server.code = code

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the request line carries the one-time code."""


class _LoopbackServer(http.server.HTTPServer):
    def __init__(self, expected_path: str) -> None:
        super().__init__(("127.0.0.1", 0), _Callback)
        self.expected_path = expected_path
        self.code = ""


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def browser_sign_in(client: httpx.Client, wish: dict[str, Any]) -> dict[str, Any] | None:
    """None when no browser could be opened."""
    verifier = secrets.token_urlsafe(48)
    # A random path: only the redirect the gateway made for this run is taken.
    server = _LoopbackServer(f"/callback/{secrets.token_urlsafe(12)}")
    redirect = f"http://127.0.0.1:{server.server_port}{server.expected_path}"
    start = f"{client.base_url}/api/auth/oidc/start?" + urlencode(
        {"cli_redirect": redirect, "cli_challenge": _challenge(verifier)}
    )
    with server:
        with stdout_to_stderr():
            opened = webbrowser.open(start)
        if not opened:
            return None
        say(f"Opened your browser to sign in. If it did not open, visit:\n  {start}")
        server.timeout = 0.5
        deadline = time.monotonic() + BROWSER_WAIT_SECONDS
        while not server.code:
            if time.monotonic() > deadline:
                raise fail("the browser sign-in did not finish in 5 minutes; run gateway login again")
            server.handle_request()
    response = call(
        client, "POST", "/api/auth/oidc/token", json={**wish, "code": server.code, "code_verifier": verifier}
    )
    if response.status_code != 200:
        raise fail(f"login failed ({response.status_code}): {detail_of(response)}")
    return dict(response.json())


def device_sign_in(client: httpx.Client, wish: dict[str, Any]) -> dict[str, Any]:
    started = call(client, "POST", "/api/auth/device/code", json={})
    if started.status_code != 200:
        raise fail(f"cannot start a device sign-in ({started.status_code}): {detail_of(started)}")
    grant = started.json()
    say(
        f"To sign in, open {grant['verification_uri']} in any browser and enter the code {grant['user_code']}\n"
        f"  (or open {grant['verification_uri_complete']})\nWaiting for you to confirm..."
    )
    interval = float(grant.get("interval", 2))
    deadline = time.monotonic() + float(grant.get("expires_in", 600))
    stop = threading.Event()
    while time.monotonic() < deadline:
        stop.wait(interval)
        polled = call(client, "POST", "/api/auth/device/token", json={**wish, "device_code": grant["device_code"]})
        if polled.status_code == 200:
            return dict(polled.json())
        reason = detail_of(polled)
        if polled.status_code == 400 and reason == "authorization_pending":
            continue
        if polled.status_code == 400 and reason == "slow_down":
            interval += 2
            continue
        if reason == "access_denied":
            raise fail("the sign-in was denied in the browser")
        if reason == "expired_token":
            break
        raise fail(f"login failed ({polled.status_code}): {reason}")
    raise fail("the code expired before it was confirmed; run gateway login again")
