"""Run `gateway serve` as a real process (as a deployment does) on a loopback port, its log captured to a file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from tests.proxy.conftest import gateway_config
from tests.support.fakes.upstream import FakeUpstream
from tests.support.live import free_port

REPO_ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("GATEWAY_TEST_REDIS_URL", "")
START_TIMEOUT_SECONDS = 60.0


@dataclass
class ServedGateway:
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    @property
    def anthropic_url(self) -> str:
        return f"{self.url}/api/llm-proxy/anthropic"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def terminate(self, timeout: float = 90.0) -> int:
        """SIGTERM, then wait for the exit status (killed, and the test failed, if it never comes)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"gateway did not exit after SIGTERM; log:\n{self.log_text()[-3000:]}") from None

    def login(self, email: str, password: str) -> str:
        response = httpx.post(f"{self.url}/api/auth/login", json={"email": email, "password": password}, timeout=30)
        response.raise_for_status()
        return response.json()["token"]


def gateway_environment(
    data_dir: Path, database_url: str, fake: FakeUpstream, *, redis_url: str = "", **settings: str
) -> dict[str, str]:
    """The environment of a served gateway: the test's database, the fake upstream's providers, test admin."""
    from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD

    data_dir.mkdir(parents=True, exist_ok=True)
    config_path = data_dir / "gateway.yaml"
    config_path.write_text(yaml.safe_dump(gateway_config(fake)))
    env = {name: value for name, value in os.environ.items() if not name.startswith("GATEWAY_")}
    env |= {
        "GATEWAY_DATA_DIR": str(data_dir),
        "GATEWAY_DATABASE_URL": database_url,
        "GATEWAY_SECRET_KEY": "test-secret-key-0123456789abcdef",
        "GATEWAY_ADMIN_EMAIL": ADMIN_EMAIL,
        "GATEWAY_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "GATEWAY_CONFIG": str(config_path),
        "GATEWAY_USAGE_FLUSH_INTERVAL": "0.05",
        "GATEWAY_REDIS_URL": redis_url,
    }
    env |= {f"GATEWAY_{name.upper()}": value for name, value in settings.items()}
    return env


def serve_gateway(
    env: dict[str, str], log_path: Path, *, workers: int = 1, preexec_fn: Callable[[], None] | None = None
) -> ServedGateway:
    """Start `gateway serve --workers N` (1 by default) and wait until /healthz answers (`preexec_fn` runs in the
    child first, e.g. to lower its open-file limit)."""
    port = free_port()
    command = [sys.executable, "-m", "gateway_api.cli.main", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*command, "--workers", str(workers)],
            env=env,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=preexec_fn,  # noqa: PLW1509 - only resource limits, set before exec
        )
    served = ServedGateway(process=process, url=f"http://127.0.0.1:{port}", log_path=log_path)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"gateway exited with {process.returncode}:\n{served.log_text()[-3000:]}")
        try:
            if httpx.get(f"{served.url}/healthz", timeout=2).status_code == 200:
                return served
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"gateway did not start:\n{served.log_text()[-3000:]}")
        time.sleep(0.1)
