"""Fixtures that run the real gateway app: in-process (TestClient) and on a loopback port (uvicorn thread)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from gateway_api.app import GatewayApp, create_asgi_app
from gateway_api.core.settings import Settings
from gateway_api.server.protocol import CombinedWritesHttpProtocol
from gateway_api.services import AppServices


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveGateway:
    url: str
    app: GatewayApp
    server: uvicorn.Server

    @property
    def services(self) -> AppServices:
        return self.app.services

    def login(self, email: str, password: str, scope: str = "ui") -> str:
        response = httpx.post(
            f"{self.url}/api/auth/login", json={"email": email, "password": password, "scope": scope}, timeout=30
        )
        response.raise_for_status()
        return response.json()["token"]


def start_live_gateway(settings: Settings, port: int | None = None) -> Iterator[LiveGateway]:
    app = create_asgi_app(settings)
    port = port or free_port()
    # `gateway serve`'s HTTP protocol, on the plain asyncio loop (the uvloop variant runs in tests/test_asgi.py).
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        loop="asyncio",
        http=CombinedWritesHttpProtocol,
        proxy_headers=False,  # as `gateway serve`: X-Forwarded-For is the gateway's to read (trusted proxies)
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the gateway did not start")
        time.sleep(0.02)
    try:
        yield LiveGateway(url=f"http://127.0.0.1:{port}", app=app, server=server)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def live_gateway(settings: Settings) -> Iterator[LiveGateway]:
    """The gateway served over real HTTP on a loopback port, with a fresh database."""
    yield from start_live_gateway(settings)


@pytest.fixture
def api_client(settings: Settings) -> Iterator[TestClient]:
    """The gateway app in-process, lifespan run, for REST API tests."""
    with TestClient(create_asgi_app(settings)) as client:
        yield client


@pytest.fixture
def admin_token(api_client: TestClient) -> str:
    from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD

    response = api_client.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()["token"]


@pytest.fixture
def admin_headers(admin_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token}"}
