"""The ASGI entry point `gateway serve` runs: proxy paths go straight to the proxy, the rest to the FastAPI app."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
import yaml

from gateway_api.accounts.api_keys import issue_key
from gateway_api.accounts.users import find_user
from gateway_api.app import GatewayApp, create_asgi_app
from gateway_api.core.settings import Settings
from gateway_api.db.engine import session_scope
from gateway_api.db.models import Scope
from gateway_api.server.protocol import CombinedWritesHttpProtocol
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.proxy.conftest import ALICE, SONNET, gateway_config
from tests.support.fakes.upstream import FakeUpstream
from tests.support.live import free_port


@pytest.fixture
def served_front(
    settings: Settings, fake_upstream: FakeUpstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, GatewayApp]]:
    config_path = tmp_path / "gateway.yaml"
    config_path.write_text(yaml.safe_dump(gateway_config(fake_upstream)))
    environment = {
        "GATEWAY_DATA_DIR": str(settings.data_dir),
        "GATEWAY_DATABASE_URL": settings.database_url,
        "GATEWAY_SECRET_KEY": settings.secret_key,
        "GATEWAY_ADMIN_EMAIL": ADMIN_EMAIL,
        "GATEWAY_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "GATEWAY_CONFIG": str(config_path),
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    front = create_asgi_app()
    port = free_port()
    # As `gateway serve` runs it: uvloop and httptools.
    config = uvicorn.Config(
        front, host="127.0.0.1", port=port, loop="uvloop", http=CombinedWritesHttpProtocol, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the gateway did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", front
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        gc.unfreeze()  # the front froze this test process's heap at startup, as it does a worker's


def test_startup_freezes_the_heap_out_of_the_cycle_collector(served_front: tuple[str, GatewayApp]) -> None:
    # Modules, app and catalog live as long as the worker: full collections over them stalled every call.
    assert gc.get_freeze_count() > 10_000


def test_front_serves_the_proxy_and_the_rest_api(served_front: tuple[str, GatewayApp]) -> None:
    url, front = served_front
    services = front.services
    with session_scope(services.engine) as session:
        user = find_user(session, ALICE)
        assert user is not None
        _, key = issue_key(session, services.key_pepper, user, {Scope.llm}, expires_at=None)
    services.catalog.reload()

    login = httpx.post(f"{url}/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}, timeout=30)
    proxied = httpx.post(
        f"{url}/api/llm-proxy/anthropic/v1/messages",
        headers={"x-api-key": key},
        json={"model": SONNET, "max_tokens": 8, "stream": True, "messages": []},
        timeout=30,
    )
    probe = httpx.head(f"{url}/api/llm-proxy/anthropic", timeout=30)

    assert login.status_code == 200 and login.json()["token"]
    assert proxied.status_code == 200 and proxied.text.endswith('data: {"type":"message_stop"}\n\n')
    assert probe.status_code == 200


def test_a_serving_worker_does_not_load_what_only_admin_actions_and_migrations_use() -> None:
    # The issue's budget is 150 MB per worker with 1,000 streams open: httpx (~6 MB) serves admin actions and the
    # CLI, alembic (~9 MB) the start-up migrations, which `gateway serve` runs once in its parent process.
    code = "import sys, gateway_api.cli.main, gateway_api.app; print(sorted({'httpx', 'alembic'} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert loaded.stdout.strip() == "[]"
