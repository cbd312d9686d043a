"""The UI server (`make serve`, Reflex) against hostile pages (issue 15): CORS off unless GATEWAY_CORS_ORIGINS lists
origins, on the pages, the REST API, the proxy and the UI's websocket alike."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.ui.conftest import UiServer, serve_ui
from tests.ui.seed import login_token

EVIL = "https://evil.example.net"
TOOLS = "https://tools.example.com"
PATHS = ["/api/me", "/api/auth/login", "/api/llm-proxy/anthropic/v1/messages", "/login/", "/"]
SOCKET = "/_event/?EIO=4&transport=websocket"


def preflight(url: str, origin: str) -> httpx.Response:
    return httpx.options(
        url,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
        timeout=30,
    )


def socket_refused(url: str, origin: str) -> bool:
    """engine.io checks the Origin before anything else and says so."""
    answer = httpx.get(url + SOCKET, headers={"Origin": origin}, timeout=30)
    return answer.status_code == 400 and "not an accepted origin" in answer.text


@pytest.fixture(scope="module")
def tools_allowed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    yield from serve_ui(tmp_path_factory.mktemp("ui-cors"), GATEWAY_CORS_ORIGINS=TOOLS)


def test_no_page_elsewhere_may_drive_the_ui_server(ui_server: UiServer) -> None:
    for path in PATHS:
        answer = preflight(ui_server.url + path, EVIL)
        assert "access-control-allow-origin" not in answer.headers, path
    token = login_token(ui_server.url, ui_server.admin_email, ui_server.admin_password)
    me = httpx.get(f"{ui_server.url}/api/me", headers={"Authorization": f"Bearer {token}", "Origin": EVIL}, timeout=30)
    assert me.status_code == 200
    # Reflex's CORS layer always adds allow-credentials; without an allowed origin a browser ignores it.
    assert "access-control-allow-origin" not in me.headers
    page = httpx.get(f"{ui_server.url}/login/", headers={"Origin": EVIL}, timeout=30)
    assert "access-control-allow-origin" not in page.headers
    assert socket_refused(ui_server.url, EVIL)
    assert not socket_refused(ui_server.url, ui_server.url), "the UI's own pages keep their websocket"


def test_listed_origins_only_and_never_a_wildcard(tools_allowed: UiServer) -> None:
    for path in PATHS:
        allowed = preflight(tools_allowed.url + path, TOOLS)
        assert allowed.headers.get("access-control-allow-origin") == TOOLS, path  # exactly it, never "*"
        assert "access-control-allow-origin" not in preflight(tools_allowed.url + path, EVIL).headers
    assert not socket_refused(tools_allowed.url, TOOLS)
    assert socket_refused(tools_allowed.url, EVIL)
    assert not socket_refused(tools_allowed.url, tools_allowed.url)
    assert Path(tools_allowed.log_path).exists()
